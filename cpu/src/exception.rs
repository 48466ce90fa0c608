//! Exceptions raised by instruction semantics (SDM vol. 3, ch. 6): carried as
//! `Err` values up to the interpreter loop, which delivers them.

/// Exception vectors.
pub mod vector {
    pub const DE: u8 = 0;
    pub const DB: u8 = 1;
    pub const NMI: u8 = 2;
    pub const BP: u8 = 3;
    pub const OF: u8 = 4;
    pub const BR: u8 = 5;
    pub const UD: u8 = 6;
    pub const NM: u8 = 7;
    pub const DF: u8 = 8;
    pub const TS: u8 = 10;
    pub const NP: u8 = 11;
    pub const SS: u8 = 12;
    pub const GP: u8 = 13;
    pub const PF: u8 = 14;
    pub const MF: u8 = 16;
    pub const AC: u8 = 17;
    pub const MC: u8 = 18;
}

/// A fault or trap to deliver, or an event that stops instruction execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exception {
    /// A CPU exception with its vector and optional error code.
    Fault { vector: u8, error: Option<u32> },
    /// An instruction we do not implement: the run ends with a clear message.
    Unimplemented,
    /// Shutdown (triple fault).
    TripleFault,
}

pub type Result<T> = std::result::Result<T, Exception>;

impl Exception {
    pub const fn fault(vector: u8) -> Self {
        Exception::Fault {
            vector,
            error: None,
        }
    }
    pub const fn with_error(vector: u8, error: u32) -> Self {
        Exception::Fault {
            vector,
            error: Some(error),
        }
    }
    pub const fn ud() -> Self {
        Self::fault(vector::UD)
    }
    pub const fn gp(error: u32) -> Self {
        Self::with_error(vector::GP, error)
    }
    pub const fn gp0() -> Self {
        Self::with_error(vector::GP, 0)
    }
    pub const fn ss(error: u32) -> Self {
        Self::with_error(vector::SS, error)
    }
    pub const fn np(error: u32) -> Self {
        Self::with_error(vector::NP, error)
    }
    pub const fn ts(error: u32) -> Self {
        Self::with_error(vector::TS, error)
    }
    pub const fn de() -> Self {
        Self::fault(vector::DE)
    }
}

/// Classes for the double-fault rules (SDM vol. 3, table 6-5).
pub fn is_contributory(vector: u8) -> bool {
    matches!(
        vector,
        vector::DE | vector::TS | vector::NP | vector::SS | vector::GP
    )
}

/// Vectors that push an error code in protected mode.
pub fn has_error_code(vector: u8) -> bool {
    matches!(vector, 8 | 10..=14 | 17)
}
