//! Constant integer expressions in C definitions (enum values, array lengths, bitfield widths):
//! literals, earlier enum constants, parentheses and C's integer operators, computed in 128
//! bits so that any 64-bit value, signed or not, and its overflow are seen.

use crate::diagnostic::Diagnostic;
use crate::span::Span;

use super::c_decl::{bad_constant, expected, Cursor};
use super::c_lex::TokenKind;

/// Binary operators by precedence, loosest first.
const LEVELS: &[&[&str]] = &[&["|"], &["^"], &["&"], &["<<", ">>"], &["+", "-"], &["*", "/", "%"]];

impl Cursor<'_> {
    /// A constant expression's value.
    pub(super) fn constant(&mut self) -> Result<i128, Diagnostic> {
        self.binary(0)
    }

    fn binary(&mut self, level: usize) -> Result<i128, Diagnostic> {
        let Some(operators) = LEVELS.get(level) else { return self.unary() };
        let start = self.peek_span();
        let mut value = self.binary(level + 1)?;
        while let Some(op) = operators.iter().find(|op| self.at_punct(op)) {
            self.advance();
            let rhs = self.binary(level + 1)?;
            value = apply(op, value, rhs, start.to(self.previous_span()))?;
        }
        Ok(value)
    }

    fn unary(&mut self) -> Result<i128, Diagnostic> {
        let span = self.peek_span();
        let result = match self.peek().cloned() {
            Some(TokenKind::Punct("-")) => {
                self.advance();
                self.nested(span, |cursor| cursor.unary())?.checked_neg()
            }
            Some(TokenKind::Punct("~")) => {
                self.advance();
                Some(!self.nested(span, |cursor| cursor.unary())?)
            }
            Some(TokenKind::Punct("+")) => {
                self.advance();
                Some(self.nested(span, |cursor| cursor.unary())?)
            }
            Some(TokenKind::Punct("(")) => {
                self.advance();
                let value = self.nested(span, |cursor| cursor.constant())?;
                self.expect_punct(")", "close the parenthesis")?;
                Some(value)
            }
            Some(TokenKind::Int(n)) => {
                self.advance();
                Some(i128::from(n))
            }
            Some(TokenKind::Name(name)) => {
                self.advance();
                let known = self.constants.iter().find(|(known, _)| *known == name).map(|(_, value)| *value);
                let value = known.ok_or_else(|| {
                    Diagnostic::error(super::codes::BAD_C_CONSTANT, format!("`{name}` is not a constant known here"))
                        .with_primary(span, "not an enum constant defined before")
                        .with_note("constants in C definitions are integers, enum constants and operators on them")
                })?;
                Some(value)
            }
            _ => return Err(expected("a constant", span)),
        };
        result.filter(|value| fits(*value)).ok_or_else(|| bad_constant("the constant does not fit in 64 bits", span))
    }
}

/// `lhs op rhs`, or E0124 for a division by zero, a bad shift or a value past 64 bits.
fn apply(op: &str, lhs: i128, rhs: i128, span: Span) -> Result<i128, Diagnostic> {
    let shift = || u32::try_from(rhs).ok().filter(|by| *by < 64).ok_or_else(|| bad_constant("a shift is by 0 to 63 bits", span));
    let value = match op {
        "|" => Some(lhs | rhs),
        "^" => Some(lhs ^ rhs),
        "&" => Some(lhs & rhs),
        "<<" => lhs.checked_shl(shift()?),
        ">>" => lhs.checked_shr(shift()?),
        "+" => lhs.checked_add(rhs),
        "-" => lhs.checked_sub(rhs),
        "*" => lhs.checked_mul(rhs),
        _ if rhs == 0 => return Err(bad_constant("division by zero", span)),
        "/" => lhs.checked_div(rhs),
        _ => lhs.checked_rem(rhs),
    };
    value.filter(|value| fits(*value)).ok_or_else(|| bad_constant("the constant does not fit in 64 bits", span))
}

/// Whether `value` is a 64-bit value, signed or unsigned.
fn fits(value: i128) -> bool {
    (i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(&value)
}
