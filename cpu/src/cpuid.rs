//! CPUID (SDM vol. 2, "CPUID"). We report a family 6 (Pentium Pro class)
//! processor and claim only features crane86 implements.

/// Feature bits in leaf 1 EDX.
pub mod feature {
    pub const PSE: u32 = 1 << 3;
    pub const TSC: u32 = 1 << 4;
    pub const MSR: u32 = 1 << 5;
    pub const CX8: u32 = 1 << 8;
    pub const PGE: u32 = 1 << 13;
    pub const CMOV: u32 = 1 << 15;
}

pub const LEAF1_EDX: u32 =
    feature::PSE | feature::TSC | feature::MSR | feature::CX8 | feature::PGE | feature::CMOV;

/// Family 6, model 1, stepping 9.
pub const SIGNATURE: u32 = 0x0000_0619;

/// Returns EAX, EBX, ECX, EDX for the leaf in EAX.
pub fn cpuid(leaf: u32) -> [u32; 4] {
    let vendor = *b"GenuineIntel";
    let v = |k: usize| u32::from_le_bytes([vendor[k], vendor[k + 1], vendor[k + 2], vendor[k + 3]]);
    match leaf {
        0 => [1, v(0), v(8), v(4)],
        1 => [SIGNATURE, 0, 0, LEAF1_EDX],
        0x8000_0000 => [0x8000_0004, 0, 0, 0],
        0x8000_0002..=0x8000_0004 => {
            let brand = b"crane86 virtual CPU\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
            let base = (leaf - 0x8000_0002) as usize * 16;
            let w =
                |k: usize| u32::from_le_bytes(brand[base + k..base + k + 4].try_into().unwrap());
            [w(0), w(4), w(8), w(12)]
        }
        // Leaves above the maximum return the highest basic leaf's data
        // (SDM: "If a value entered for CPUID.EAX is higher than the maximum
        // input value for basic or extended function ...").
        0x8000_0005.. => [SIGNATURE, 0, 0, LEAF1_EDX],
        _ => [SIGNATURE, 0, 0, LEAF1_EDX],
    }
}
