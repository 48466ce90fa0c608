//! Executable memory for compiled blocks: one region reserved up front and
//! filled by a bump pointer. Code is never freed one block at a time
//! (invalidated blocks just become unreachable); when the region is full,
//! or the decode cache is flushed, the whole region is reset at once and
//! every block compiled into it is forgotten (a *generation* ends).
//!
//! The pages are kept read+execute; the few pages a new block lands on are
//! made writable only while it is copied in (W^X).

use crate::JitError;

pub struct CodeCache {
    mem: region::Allocation,
    /// Bytes handed out in the current generation.
    used: usize,
    page: usize,
    /// Incremented by every [`reset`](Self::reset).
    pub generation: u32,
}

/// Alignment of each block's entry point.
const ALIGN: usize = 16;

impl CodeCache {
    pub fn new(capacity: usize) -> Result<Self, JitError> {
        let page = region::page::size();
        let capacity = capacity.div_ceil(page).max(1) * page;
        let mem = region::alloc(capacity, region::Protection::READ_EXECUTE)
            .map_err(|e| JitError::Memory(e.to_string()))?;
        Ok(CodeCache {
            mem,
            used: 0,
            page,
            generation: 0,
        })
    }

    pub fn capacity(&self) -> usize {
        self.mem.len()
    }

    #[allow(dead_code)]
    pub fn used(&self) -> usize {
        self.used
    }

    /// Room for `len` more bytes in this generation.
    pub fn fits(&self, len: usize) -> bool {
        self.used.next_multiple_of(ALIGN) + len <= self.capacity()
    }

    /// Copies `code` in and returns its address, or `None` when full.
    pub fn install(&mut self, code: &[u8]) -> Result<Option<*const u8>, JitError> {
        if !self.fits(code.len()) {
            return Ok(None);
        }
        let start = self.used.next_multiple_of(ALIGN);
        let base = self.mem.as_mut_ptr::<u8>();
        let first = start / self.page * self.page;
        let end = (start + code.len()).div_ceil(self.page) * self.page;
        // SAFETY: [first, end) lies inside the allocation (fits() checked
        // the bytes, and the capacity is a whole number of pages); no
        // generated code runs while we write (the engine is not re-entrant).
        unsafe {
            let p = base.add(first);
            region::protect(p, end - first, region::Protection::READ_WRITE)
                .map_err(|e| JitError::Memory(e.to_string()))?;
            std::ptr::copy_nonoverlapping(code.as_ptr(), base.add(start), code.len());
            region::protect(p, end - first, region::Protection::READ_EXECUTE)
                .map_err(|e| JitError::Memory(e.to_string()))?;
        }
        self.used = start + code.len();
        // x86 keeps instruction fetch coherent with stores; other hosts
        // would need an instruction-cache flush here.
        Ok(Some(unsafe { base.add(start) as *const u8 }))
    }

    /// Forgets every block: the caller must drop all pointers into the
    /// region first.
    pub fn reset(&mut self) {
        self.used = 0;
        self.generation = self.generation.wrapping_add(1);
    }
}
