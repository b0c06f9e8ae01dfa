//! The compiler's `Catalog` answered from the running kernel's tracefs. Nothing is cached: a
//! listing is one `readdir` per category and a format is one small file read.

use ferrotrace_compiler::catalog::{Catalog, CatalogError, TracepointFormat};

use crate::tracefs::{Tracefs, TracefsError};

/// Kernel facts for the compiler, read live from tracefs.
#[derive(Debug, Clone)]
pub struct KernelCatalog {
    tracefs: Tracefs,
}

impl KernelCatalog {
    pub fn new(tracefs: Tracefs) -> KernelCatalog {
        KernelCatalog { tracefs }
    }
}

impl Catalog for KernelCatalog {
    fn tracepoints(&self) -> Result<Vec<(String, String)>, CatalogError> {
        self.tracefs.tracepoints().map_err(to_catalog_error)
    }

    fn tracepoint_format(
        &self,
        category: &str,
        name: &str,
    ) -> Result<TracepointFormat, CatalogError> {
        self.tracefs
            .format(category, name)
            .map_err(to_catalog_error)
    }
}

fn to_catalog_error(error: TracefsError) -> CatalogError {
    match error {
        TracefsError::NoSuchTracepoint { category, name } => {
            CatalogError::NotFound(format!("tracepoint:{category}:{name}"))
        }
        other => CatalogError::Unavailable(other.to_string()),
    }
}
