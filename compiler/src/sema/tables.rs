//! What the checker learns about the script's maps while it walks the script: their key and
//! value types, and when each changed.

use std::collections::HashMap;

use super::hir::MapIdx;
use super::unify::{describe_map_value, storage, unify, unify_map_value};
use crate::diagnostic::Diagnostic;
use crate::manifest::MapValue;
use crate::span::Span;
use crate::types::Ty;

/// One script map as seen so far: its key and value types and where they were first set.
#[derive(Debug, Clone)]
pub struct MapEntry {
    pub name: String,
    pub first_use: Span,
    pub key: Option<(Vec<Ty>, Span)>,
    pub value: Option<(MapValue, Span)>,
    /// Assigned only values computed from maps without a type yet, like `@x = @x + 1`.
    pub self_assigned: Option<Span>,
    /// Every plain value stored so far was a literal that is not negative, which takes the
    /// sign of the others (bpftrace 0.26).
    flexible: bool,
    /// A `uint64` and a signed value were both stored: where the second was, and the two types.
    pub sign_mismatch: Option<(Span, Ty, Ty)>,
    /// The clock of the timestamps the map holds, for `strftime`.
    clock: Clock,
}

/// What the checker knows of the clock behind a map's values: nothing stored yet, one clock
/// (`nsecs(tai)` everywhere), or values that are not all timestamps of one clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clock {
    Unknown,
    Known(u64),
    Mixed,
}

#[derive(Debug, Clone, Default)]
pub struct MapTable {
    pub entries: Vec<MapEntry>,
    /// Keyed by the name without the `@`, as the AST spells it.
    by_name: HashMap<String, MapIdx>,
    /// How many times an entry was created or its key or value type changed: the clock of
    /// `watches`.
    revision: u64,
    /// Per entry, in the same order: when it last changed and was first consulted this walk.
    watches: Vec<Watch>,
    /// Counts `begin_probe` calls; an entry consulted since the last one carries its value.
    probe: u64,
    /// Whether an entry changed after being consulted since `begin_probe`.
    changed_after_consulted: bool,
}

/// When an entry last changed, and when the walk in progress first consulted its types (read
/// them, or failed to join with them); `u64::MAX` while it has not.
#[derive(Debug, Clone, Copy)]
struct Watch {
    changed: u64,
    first_consulted: u64,
    /// The `MapTable::probe` of the last consultation.
    consulted_in_probe: u64,
}

impl MapTable {
    /// The map named `@name` (`name` without the `@`), created on first sight.
    pub fn index(&mut self, name: &str, span: Span) -> MapIdx {
        if let Some(&idx) = self.by_name.get(name) {
            return idx;
        }
        let idx = MapIdx(self.entries.len() as u32);
        self.entries.push(MapEntry {
            name: format!("@{name}"),
            first_use: span,
            key: None,
            value: None,
            self_assigned: None,
            flexible: true,
            sign_mismatch: None,
            clock: Clock::Unknown,
        });
        self.by_name.insert(name.to_string(), idx);
        self.watches.push(Watch { changed: 0, first_consulted: u64::MAX, consulted_in_probe: 0 });
        self.changed(idx);
        idx
    }

    /// The entry, to read its key or value type.
    pub fn read(&mut self, idx: MapIdx) -> &MapEntry {
        self.consulted(idx);
        &self.entries[idx.0 as usize]
    }

    /// Records a use of the map with this key (empty for keyless); joins it with earlier uses.
    pub fn use_key(&mut self, idx: MapIdx, key: &[Ty], span: Span) -> Result<(), Diagnostic> {
        let entry = &mut self.entries[idx.0 as usize];
        // The common case, a key of the known type, joins to what is known: nothing to build.
        if let Some((known, _)) = &entry.key {
            if known.len() == key.len() && known.iter().zip(key).all(|(known, ty)| *known == storage(ty)) {
                return Ok(());
            }
        }
        let key: Vec<Ty> = key.iter().map(storage).collect();
        let Some((known, known_span)) = &entry.key else {
            entry.key = Some((key, span));
            self.changed(idx);
            return Ok(());
        };
        let joined = (known.len() == key.len())
            .then(|| known.iter().zip(&key).map(|(a, b)| unify(a, b)).collect::<Option<Vec<_>>>())
            .flatten();
        match joined {
            Some(joined) => {
                let changed = joined != *known;
                entry.key = Some((joined, *known_span));
                if changed {
                    self.changed(idx);
                }
                Ok(())
            }
            None => {
                let diagnostic = Diagnostic::error("E0401", format!("map `{}` is used with two different key types", entry.name))
                    .with_primary(span, format!("key is {}", describe_key(&key)))
                    .with_secondary(*known_span, format!("earlier the key is {}", describe_key(known)));
                self.consulted(idx);
                Err(diagnostic)
            }
        }
    }

    /// Records a value stored into the map; joins it with earlier stores.
    pub fn use_value(&mut self, idx: MapIdx, value: MapValue, span: Span) -> Result<(), Diagnostic> {
        let entry = &mut self.entries[idx.0 as usize];
        let value = match value {
            MapValue::Plain(ty) => MapValue::Plain(storage(&ty)),
            other => other,
        };
        let Some((known, known_span)) = &entry.value else {
            entry.value = Some((value, span));
            self.changed(idx);
            return Ok(());
        };
        match unify_map_value(known, &value) {
            Some(joined) => {
                let changed = joined != *known;
                entry.value = Some((joined, *known_span));
                if changed {
                    self.changed(idx);
                }
                Ok(())
            }
            None => {
                let diagnostic = Diagnostic::error("E0402", format!("map `{}` is given two different kinds of value", entry.name))
                    .with_primary(span, format!("this stores {}", describe_map_value(&value)))
                    .with_secondary(*known_span, format!("earlier it stores {}", describe_map_value(known)));
                self.consulted(idx);
                Err(diagnostic)
            }
        }
    }

    /// Records a plain value stored into the map by an assignment: `flexible` when it is a
    /// literal that is not negative, which takes the sign of the map's other values, and the
    /// clock of the timestamp it is, if it is one. Notes a `uint64` joined with a signed value,
    /// which bpftrace warns about.
    pub fn use_plain_value(&mut self, idx: MapIdx, ty: Ty, flexible: bool, clock: Option<u64>, span: Span) -> Result<(), Diagnostic> {
        let mut ty = storage(&ty);
        let entry = &mut self.entries[idx.0 as usize];
        let clock = match (entry.clock, clock) {
            (Clock::Unknown, Some(clock)) => Clock::Known(clock),
            (Clock::Known(known), Some(clock)) if known == clock => Clock::Known(known),
            _ => Clock::Mixed,
        };
        let mut changed = clock != entry.clock;
        entry.clock = clock;
        if let (Some((MapValue::Plain(Ty::Int(known)), _)), Ty::Int(new)) = (&mut entry.value, &mut ty) {
            if flexible && !known.signed {
                new.signed = false;
            } else if entry.flexible && known.signed && !new.signed {
                // Every earlier value was a literal, which takes this one's sign.
                known.signed = false;
                changed = true;
            }
            let unsigned_64 = |int: &crate::types::IntTy| !int.signed && int.bits == 64;
            if !flexible && !entry.flexible && known.signed != new.signed && (unsigned_64(known) || unsigned_64(new)) {
                entry.sign_mismatch.get_or_insert((span, Ty::Int(*known), Ty::Int(*new)));
            }
        }
        entry.flexible &= flexible;
        if changed {
            self.changed(idx);
        }
        self.use_value(idx, MapValue::Plain(ty), span)
    }

    /// The clock of the timestamps map `idx` holds, when every value stored in it is a
    /// timestamp of that one clock.
    pub fn clock(&mut self, idx: MapIdx) -> Option<u64> {
        self.consulted(idx);
        match self.entries[idx.0 as usize].clock {
            Clock::Known(clock) => Some(clock),
            Clock::Unknown | Clock::Mixed => None,
        }
    }

    /// Notes an assignment to the map whose value has no type yet because it reads maps that
    /// have none (`@x = @x + 1`).
    pub fn assigned_untyped(&mut self, idx: MapIdx, span: Span) {
        self.entries[idx.0 as usize].self_assigned.get_or_insert(span);
    }

    /// Gives every map that is assigned only from untyped maps bpftrace's default, `int64`;
    /// returns whether any was, so that the script is walked again.
    pub fn default_self_assigned(&mut self) -> bool {
        let pending: Vec<(usize, Span)> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.value.is_none())
            .filter_map(|(i, entry)| entry.self_assigned.map(|span| (i, span)))
            .collect();
        for &(i, span) in &pending {
            self.entries[i].value = Some((MapValue::Plain(Ty::I64), span));
            self.changed(MapIdx(i as u32));
        }
        !pending.is_empty()
    }

    /// Starts watching a walk over the script: which entries it consults, and when.
    pub fn begin_walk(&mut self) {
        for watch in &mut self.watches {
            watch.first_consulted = u64::MAX;
        }
    }

    /// Whether the walk since `begin_walk` consulted every entry only after its last change.
    /// Walking again would then consult the same types everywhere; joins being monotone, it
    /// would change nothing, so this walk's results are final.
    pub fn settled(&self) -> bool {
        self.watches.iter().all(|watch| watch.first_consulted >= watch.changed)
    }

    /// Starts watching one probe's walk for entries that change after it consulted them.
    pub fn begin_probe(&mut self) {
        self.probe += 1;
        self.changed_after_consulted = false;
    }

    /// Whether an entry changed after the probe walk since `begin_probe` consulted it.
    pub fn changed_after_consulted(&self) -> bool {
        self.changed_after_consulted
    }

    fn changed(&mut self, idx: MapIdx) {
        self.revision += 1;
        let watch = &mut self.watches[idx.0 as usize];
        watch.changed = self.revision;
        if watch.consulted_in_probe == self.probe {
            self.changed_after_consulted = true;
        }
    }

    fn consulted(&mut self, idx: MapIdx) {
        let watch = &mut self.watches[idx.0 as usize];
        watch.first_consulted = watch.first_consulted.min(self.revision);
        watch.consulted_in_probe = self.probe;
    }
}

fn describe_key(key: &[Ty]) -> String {
    match key {
        [] => "absent (a keyless map)".to_string(),
        [one] => format!("`{one}`"),
        many => format!("`{}`", Ty::Tuple(many.to_vec())),
    }
}
