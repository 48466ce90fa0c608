//! CPUID (SDM vol. 2, "CPUID"). We report a family 6 (Pentium Pro class)
//! processor and claim only features crane86 implements.

/// Feature bits in leaf 1 EDX.
pub mod feature {
    pub const PSE: u32 = 1 << 3;
    pub const TSC: u32 = 1 << 4;
    pub const MSR: u32 = 1 << 5;
    pub const PAE: u32 = 1 << 6;
    pub const CX8: u32 = 1 << 8;
    pub const PGE: u32 = 1 << 13;
    pub const CMOV: u32 = 1 << 15;
    /// The PAT MSR exists and the PAT bits of page-table entries select
    /// its entries (memory types mean nothing to an emulator, so they are
    /// stored and ignored), so those bits are not reserved.
    pub const PAT: u32 = 1 << 16;
}

pub const LEAF1_EDX: u32 = 1 /* FPU */ | 1 << 24 /* FXSR */ | feature::PSE
    | feature::TSC
    | feature::MSR
    | feature::PAE
    | feature::CX8
    | feature::PGE
    | feature::CMOV
    | feature::PAT;

/// Feature bits in leaf 0x80000001 EDX.
pub mod ext_feature {
    /// Execute-disable (IA32_EFER.NXE and the XD bit of PAE entries).
    pub const NX: u32 = 1 << 20;
}

pub const EXT_LEAF1_EDX: u32 = ext_feature::NX;

/// Family 6, model 1, stepping 9.
pub const SIGNATURE: u32 = 0x0000_0619;

/// Returns EAX, EBX, ECX, EDX for the leaf in EAX.
pub fn cpuid(leaf: u32) -> [u32; 4] {
    let vendor = *b"GenuineIntel";
    let v = |k: usize| u32::from_le_bytes([vendor[k], vendor[k + 1], vendor[k + 2], vendor[k + 3]]);
    match leaf {
        0 => [1, v(0), v(8), v(4)],
        1 => [SIGNATURE, 0, 0, LEAF1_EDX],
        // The highest extended leaf: 0x80000001 (features) and the brand
        // string. With no leaf 0x80000008, MAXPHYADDR is 36 (PAE claimed).
        0x8000_0000 => [0x8000_0004, 0, 0, 0],
        0x8000_0001 => [0, 0, 0, EXT_LEAF1_EDX],
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
