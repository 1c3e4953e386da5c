//! Owned buffers for I/O: the operation takes the buffer and gives it back with the
//! result, so the kernel may write into it after the future that started the operation
//! is gone (io_uring) without a use-after-free.

/// A buffer an operation may read from while it owns it.
///
/// # Safety
/// `stable_ptr` points to `bytes_init` initialised bytes that stay at the same address
/// while the buffer is moved (heap memory), until the buffer is dropped or mutated.
///
/// ```
/// use modes::io::IoBuf;
/// let v = b"hello".to_vec();
/// assert_eq!(v.bytes_init(), 5);
/// let s: &'static str = "hi";
/// assert_eq!(s.bytes_init(), 2);
/// ```
pub unsafe trait IoBuf: Send + 'static {
    /// Where the bytes start.
    fn stable_ptr(&self) -> *const u8;
    /// How many bytes are initialised (what a write sends).
    fn bytes_init(&self) -> usize;
    /// The initialised bytes.
    fn as_bytes(&self) -> &[u8] {
        // SAFETY: the trait's contract: `bytes_init` bytes at `stable_ptr` are initialised.
        unsafe { std::slice::from_raw_parts(self.stable_ptr(), self.bytes_init()) }
    }
}

/// A buffer an operation may write into while it owns it: reads fill it from the start,
/// up to its capacity, and set its length to what was read.
///
/// # Safety
/// `stable_mut_ptr` points to `bytes_total` writable bytes that stay at the same address
/// while the buffer is moved; `set_init(n)` with `n <= bytes_total` makes the first `n`
/// bytes the buffer's contents.
///
/// ```
/// use modes::io::IoBufMut;
/// let v: Vec<u8> = Vec::with_capacity(4096);
/// assert!(v.bytes_total() >= 4096);
/// ```
pub unsafe trait IoBufMut: IoBuf {
    /// Where the writable bytes start.
    fn stable_mut_ptr(&mut self) -> *mut u8;
    /// How many bytes a read may write (the capacity).
    fn bytes_total(&self) -> usize;
    /// Marks the first `n` bytes as the contents.
    ///
    /// # Safety
    /// The first `n` bytes are initialised and `n <= bytes_total()`.
    unsafe fn set_init(&mut self, n: usize);
}

// SAFETY: a Vec's heap buffer does not move when the Vec moves; len bytes are initialised.
unsafe impl IoBuf for Vec<u8> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: as above; the capacity is writable.
unsafe impl IoBufMut for Vec<u8> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
    unsafe fn set_init(&mut self, n: usize) {
        // SAFETY: the caller's contract: n <= capacity, first n bytes initialised.
        unsafe { self.set_len(n) }
    }
}

// SAFETY: a boxed slice's memory does not move with the box; all of it is initialised.
unsafe impl IoBuf for Box<[u8]> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: as above; a boxed slice is always fully initialised, so `set_init` is a no-op.
unsafe impl IoBufMut for Box<[u8]> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
    unsafe fn set_init(&mut self, _n: usize) {}
}

// SAFETY: a String's heap buffer does not move with it; len bytes are initialised.
unsafe impl IoBuf for String {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: static data never moves nor goes away.
unsafe impl IoBuf for &'static [u8] {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: static data never moves nor goes away.
unsafe impl IoBuf for &'static str {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

/// `buf`'s writable memory (its whole capacity) as bytes not yet initialised, for a
/// syscall wrapper (rustix, socket2) to read into.
fn spare<B: IoBufMut>(buf: &mut B) -> &mut [std::mem::MaybeUninit<u8>] {
    let (ptr, len) = (buf.stable_mut_ptr(), buf.bytes_total());
    // SAFETY: the `IoBufMut` contract: `bytes_total` writable bytes at `stable_mut_ptr`;
    // the slice borrows `buf` mutably, so nothing else touches them meanwhile, and
    // `MaybeUninit` makes no claim that they are initialised.
    unsafe { std::slice::from_raw_parts_mut(ptr.cast(), len) }
}

/// Reads into `buf` from its start with `read`, which gets the buffer's memory and
/// returns the part it initialised (as rustix's `Buffer` reads do); makes that part the
/// buffer's contents and returns its length.
///
/// A returned slice that is not a prefix of the memory it got (no wrapper does that) is
/// an error, not a claim believed.
pub(crate) fn read_into<B, F>(buf: &mut B, read: F) -> std::io::Result<usize>
where
    B: IoBufMut,
    F: for<'a> FnOnce(&'a mut [std::mem::MaybeUninit<u8>]) -> std::io::Result<&'a mut [u8]>,
{
    let start = buf.stable_mut_ptr();
    let total = buf.bytes_total();
    let init = read(spare(buf))?;
    let n = init.len();
    if init.as_ptr() != start.cast_const() || n > total {
        return Err(std::io::Error::other(
            "a read returned memory outside its buffer",
        ));
    }
    // SAFETY: `init` is a `&mut [u8]` of `n <= bytes_total` bytes at the buffer's start,
    // so those bytes are initialised.
    unsafe { buf.set_init(n) };
    Ok(n)
}

/// Copies the start of `src` into `buf` at offset `at` (up to its capacity) and makes
/// the first `at` bytes and these its contents; `at` is at most what the buffer holds
/// initialised (a previous `fill` of this read). Returns how many bytes it copied.
pub(crate) fn fill<B: IoBufMut>(buf: &mut B, at: usize, src: &[u8]) -> usize {
    let at = at.min(buf.bytes_init()).min(buf.bytes_total());
    let n = src.len().min(buf.bytes_total() - at);
    // SAFETY: `at + n` fits in the buffer's capacity (the `IoBufMut` contract: writable
    // bytes at `stable_mut_ptr`), `src` is a distinct borrow so the regions do not
    // overlap, the first `at` bytes were initialised and the next `n` are by the copy
    // before `set_init`.
    unsafe {
        std::ptr::copy_nonoverlapping(src.as_ptr(), buf.stable_mut_ptr().add(at), n);
        buf.set_init(at + n);
    }
    n
}
