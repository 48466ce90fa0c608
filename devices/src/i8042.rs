//! Intel 8042 keyboard controller as found in PC/AT and PS/2 machines, with
//! the PS/2 keyboard on its first port and a PS/2 mouse on its auxiliary
//! port. Data port 0x60, status (read) / command (write) port 0x64.
//!
//! The controller:
//! - status register: output buffer full (OBF), input buffer full (IBF,
//!   always clear here: writes are processed at once), the system flag
//!   (command byte bit 2), command/data (set by a write to 0x64, cleared by
//!   a write to 0x60), the keyboard-lock switch (never locked) and the
//!   auxiliary output buffer full bit telling that the byte waiting in the
//!   output buffer came from the mouse;
//! - the command byte (internal RAM byte 0): keyboard and mouse interrupt
//!   enables, system flag, keyboard and mouse interface disables, set 2 to
//!   set 1 translation;
//! - the controller commands an OS or BIOS uses: 0x20-0x3F / 0x60-0x7F
//!   read / write internal RAM (byte 0 = command byte), 0xA4 password
//!   check, 0xA7/0xA8 disable/enable the mouse, 0xA9 mouse interface test,
//!   0xAA self-test (0x55), 0xAB keyboard interface test, 0xAD/0xAE
//!   disable/enable the keyboard, 0xC0 read the input port, 0xD0/0xD1
//!   read/write the output port, 0xD2/0xD3 write the keyboard/mouse output
//!   buffer, 0xD4 write to the mouse, 0xDD/0xDF A20 off/on, 0xE0 read test
//!   inputs, 0xF0-0xFF pulse output port bits (0xFE: CPU reset);
//! - the output port: bit 0 is the CPU reset line (writing it 0 resets the
//!   machine: [`I8042::reset_requested`]), bit 1 gates A20
//!   ([`I8042::a20_enabled`]); bits 4 and 5 read back the IRQ 1 / IRQ 12
//!   outputs;
//! - translation (command byte bit 6): bytes from the keyboard go through
//!   the 8042's set 2 to set 1 table, and a 0xF0 prefix becomes bit 7 of
//!   the next byte.
//!
//! The keyboard answers 0xED (LEDs), 0xEE (echo), 0xF0 (get/set scan code
//! set 1/2/3), 0xF2 (identify: 0xAB 0x83), 0xF3 (typematic rate/delay),
//! 0xF4/0xF5 (enable/disable scanning), 0xF6 (defaults), 0xF7-0xFD (set 3
//! key types), 0xFE (resend) and 0xFF (reset: 0xFA 0xAA). Host key events
//! ([`I8042::key_event`]) become scan codes of the selected set. The
//! keyboard discards its pending output when it receives a command.
//!
//! Typematic repeat is the host's job: a front end calls
//! [`I8042::key_event`] with `pressed = true` again for every repeat (the
//! host window system already repeats held keys); the rate and delay the
//! guest programs are only stored ([`I8042::typematic`]) for a front end
//! that wants to honour them. Keyboards' "fake shift" prefixes around
//! navigation keys and the Alt+PrintScreen SysRq code are not generated.
//!
//! The mouse answers 0xE6/0xE7 (scaling 1:1 / 2:1), 0xE8 (resolution),
//! 0xE9 (status request), 0xEA (stream mode), 0xEB (read data), 0xEC/0xEE
//! (leave/enter wrap mode), 0xF0 (remote mode), 0xF2 (identify), 0xF3
//! (sample rate; the 200, 100, 80 sequence turns on the IntelliMouse wheel,
//! ID 3), 0xF4/0xF5 (data reporting on/off), 0xF6 (defaults), 0xFE (resend)
//! and 0xFF (reset: 0xFA 0xAA 0x00). Host motion ([`I8042::mouse_event`],
//! [`I8042::mouse_wheel`]) is accumulated and sent as 3-byte (4 with the
//! wheel) packets while the queue has room, so nothing is lost when the
//! guest reads slowly. The resolution and sample rate are stored but do not
//! scale or pace the host's motion.
//!
//! Timing: after the guest reads a byte from port 0x60 the next one is
//! moved into the output buffer [`BYTE_GAP_NS`] later (a PS/2 byte takes
//! about a millisecond on the wire), so the IRQ line visibly drops between
//! bytes and an edge-triggered PIC sees a new edge for each. The board
//! must therefore call [`I8042::tick`] at [`I8042::next_deadline`] (port
//! accesses catch up too).

use std::collections::VecDeque;

use crate::{split_read, split_write, PortDevice};

/// Data port (read: output buffer; write: to the keyboard, or a parameter
/// of a controller command).
pub const I8042_DATA_PORT: u16 = 0x60;
/// Status (read) and command (write) port.
pub const I8042_CMD_PORT: u16 = 0x64;
/// ISA IRQ of the keyboard.
pub const IRQ_KEYBOARD: u8 = 1;
/// ISA IRQ of the mouse.
pub const IRQ_MOUSE: u8 = 12;

/// Delay between the guest taking a byte from the output buffer and the
/// controller loading the next one.
pub const BYTE_GAP_NS: u64 = 20_000;

/// Left mouse button bit for [`I8042::mouse_event`].
pub const MOUSE_LEFT: u8 = 0x01;
/// Right mouse button bit.
pub const MOUSE_RIGHT: u8 = 0x02;
/// Middle mouse button bit.
pub const MOUSE_MIDDLE: u8 = 0x04;

// Status register.
const ST_OBF: u8 = 0x01;
const ST_SYS: u8 = 0x04;
const ST_CMD: u8 = 0x08;
const ST_UNLOCKED: u8 = 0x10;
const ST_AUX_OBF: u8 = 0x20;

// Command byte.
const CB_KBD_INT: u8 = 0x01;
const CB_AUX_INT: u8 = 0x02;
const CB_SYS: u8 = 0x04;
const CB_KBD_DISABLE: u8 = 0x10;
const CB_AUX_DISABLE: u8 = 0x20;
const CB_XLATE: u8 = 0x40;
/// Power-on command byte: translation on, mouse interface disabled,
/// keyboard interrupt on, system flag clear (cold boot).
const CB_POWER_ON: u8 = CB_XLATE | CB_AUX_DISABLE | CB_KBD_INT;

// Output port.
const OP_RESET: u8 = 0x01;
const OP_A20: u8 = 0x02;
const OP_KBD_OBF: u8 = 0x10;
const OP_AUX_OBF: u8 = 0x20;
/// Power-on output port: reset line inactive, A20 enabled, clock and data
/// lines high.
const OP_POWER_ON: u8 = 0xCF;

/// Input port as read by command 0xC0: keyboard not inhibited (bit 7),
/// colour display (bit 6 clear), no manufacturing jumper (bit 5), 512 KiB+
/// of base memory (bit 4).
const INPUT_PORT: u8 = 0xB0;

/// Bytes a device may have waiting before it stops adding more.
const QUEUE_CAP: usize = 64;
/// The mouse keeps only this many bytes of motion packets queued; more
/// motion accumulates until the guest catches up.
const MOUSE_PACKET_QUEUE: usize = 12;

// Device protocol bytes.
const ACK: u8 = 0xFA;
const RESEND: u8 = 0xFE;
const BAT_OK: u8 = 0xAA;
const ECHO: u8 = 0xEE;

// ---------------------------------------------------------------------------
// Keys and scan codes

/// A key of a 104/105-key PC keyboard, named after its US-layout position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Escape,
    F1,
    F2,
    F3,
    F4,
    F5,
    F6,
    F7,
    F8,
    F9,
    F10,
    F11,
    F12,
    PrintScreen,
    ScrollLock,
    Pause,
    Backquote,
    Digit1,
    Digit2,
    Digit3,
    Digit4,
    Digit5,
    Digit6,
    Digit7,
    Digit8,
    Digit9,
    Digit0,
    Minus,
    Equal,
    Backspace,
    Tab,
    Q,
    W,
    E,
    R,
    T,
    Y,
    U,
    I,
    O,
    P,
    BracketLeft,
    BracketRight,
    Backslash,
    CapsLock,
    A,
    S,
    D,
    F,
    G,
    H,
    J,
    K,
    L,
    Semicolon,
    Quote,
    Enter,
    ShiftLeft,
    /// The extra key left of Z on ISO (102/105-key) keyboards.
    IntlBackslash,
    Z,
    X,
    C,
    V,
    B,
    N,
    M,
    Comma,
    Period,
    Slash,
    ShiftRight,
    ControlLeft,
    MetaLeft,
    AltLeft,
    Space,
    AltRight,
    MetaRight,
    ContextMenu,
    ControlRight,
    Insert,
    Home,
    PageUp,
    Delete,
    End,
    PageDown,
    ArrowUp,
    ArrowLeft,
    ArrowDown,
    ArrowRight,
    NumLock,
    NumpadDivide,
    NumpadMultiply,
    NumpadSubtract,
    Numpad7,
    Numpad8,
    Numpad9,
    NumpadAdd,
    Numpad4,
    Numpad5,
    Numpad6,
    Numpad1,
    Numpad2,
    Numpad3,
    NumpadEnter,
    Numpad0,
    NumpadDecimal,
}

/// Scan codes of one key: set 1 and set 2 make codes (0xE0xx for the
/// E0-prefixed ones) and the single-byte set 3 code.
struct Codes {
    set1: u16,
    set2: u16,
    set3: u8,
}

const fn codes(set1: u16, set2: u16, set3: u8) -> Codes {
    Codes { set1, set2, set3 }
}

impl Key {
    /// Every key, in the order of the enum.
    pub const ALL: [Key; 105] = {
        use Key::*;
        [
            Escape,
            F1,
            F2,
            F3,
            F4,
            F5,
            F6,
            F7,
            F8,
            F9,
            F10,
            F11,
            F12,
            PrintScreen,
            ScrollLock,
            Pause,
            Backquote,
            Digit1,
            Digit2,
            Digit3,
            Digit4,
            Digit5,
            Digit6,
            Digit7,
            Digit8,
            Digit9,
            Digit0,
            Minus,
            Equal,
            Backspace,
            Tab,
            Q,
            W,
            E,
            R,
            T,
            Y,
            U,
            I,
            O,
            P,
            BracketLeft,
            BracketRight,
            Backslash,
            CapsLock,
            A,
            S,
            D,
            F,
            G,
            H,
            J,
            K,
            L,
            Semicolon,
            Quote,
            Enter,
            ShiftLeft,
            IntlBackslash,
            Z,
            X,
            C,
            V,
            B,
            N,
            M,
            Comma,
            Period,
            Slash,
            ShiftRight,
            ControlLeft,
            MetaLeft,
            AltLeft,
            Space,
            AltRight,
            MetaRight,
            ContextMenu,
            ControlRight,
            Insert,
            Home,
            PageUp,
            Delete,
            End,
            PageDown,
            ArrowUp,
            ArrowLeft,
            ArrowDown,
            ArrowRight,
            NumLock,
            NumpadDivide,
            NumpadMultiply,
            NumpadSubtract,
            Numpad7,
            Numpad8,
            Numpad9,
            NumpadAdd,
            Numpad4,
            Numpad5,
            Numpad6,
            Numpad1,
            Numpad2,
            Numpad3,
            NumpadEnter,
            Numpad0,
            NumpadDecimal,
        ]
    };

    fn codes(self) -> Codes {
        use Key::*;
        match self {
            Escape => codes(0x01, 0x76, 0x08),
            F1 => codes(0x3B, 0x05, 0x07),
            F2 => codes(0x3C, 0x06, 0x0F),
            F3 => codes(0x3D, 0x04, 0x17),
            F4 => codes(0x3E, 0x0C, 0x1F),
            F5 => codes(0x3F, 0x03, 0x27),
            F6 => codes(0x40, 0x0B, 0x2F),
            F7 => codes(0x41, 0x83, 0x37),
            F8 => codes(0x42, 0x0A, 0x3F),
            F9 => codes(0x43, 0x01, 0x47),
            F10 => codes(0x44, 0x09, 0x4F),
            F11 => codes(0x57, 0x78, 0x56),
            F12 => codes(0x58, 0x07, 0x5E),
            // The multi-byte sequences of these two are built separately.
            PrintScreen => codes(0xE037, 0xE07C, 0x57),
            ScrollLock => codes(0x46, 0x7E, 0x5F),
            Pause => codes(0xE11D, 0xE114, 0x62),
            Backquote => codes(0x29, 0x0E, 0x0E),
            Digit1 => codes(0x02, 0x16, 0x16),
            Digit2 => codes(0x03, 0x1E, 0x1E),
            Digit3 => codes(0x04, 0x26, 0x26),
            Digit4 => codes(0x05, 0x25, 0x25),
            Digit5 => codes(0x06, 0x2E, 0x2E),
            Digit6 => codes(0x07, 0x36, 0x36),
            Digit7 => codes(0x08, 0x3D, 0x3D),
            Digit8 => codes(0x09, 0x3E, 0x3E),
            Digit9 => codes(0x0A, 0x46, 0x46),
            Digit0 => codes(0x0B, 0x45, 0x45),
            Minus => codes(0x0C, 0x4E, 0x4E),
            Equal => codes(0x0D, 0x55, 0x55),
            Backspace => codes(0x0E, 0x66, 0x66),
            Tab => codes(0x0F, 0x0D, 0x0D),
            Q => codes(0x10, 0x15, 0x15),
            W => codes(0x11, 0x1D, 0x1D),
            E => codes(0x12, 0x24, 0x24),
            R => codes(0x13, 0x2D, 0x2D),
            T => codes(0x14, 0x2C, 0x2C),
            Y => codes(0x15, 0x35, 0x35),
            U => codes(0x16, 0x3C, 0x3C),
            I => codes(0x17, 0x43, 0x43),
            O => codes(0x18, 0x44, 0x44),
            P => codes(0x19, 0x4D, 0x4D),
            BracketLeft => codes(0x1A, 0x54, 0x54),
            BracketRight => codes(0x1B, 0x5B, 0x5B),
            Backslash => codes(0x2B, 0x5D, 0x5C),
            CapsLock => codes(0x3A, 0x58, 0x14),
            A => codes(0x1E, 0x1C, 0x1C),
            S => codes(0x1F, 0x1B, 0x1B),
            D => codes(0x20, 0x23, 0x23),
            F => codes(0x21, 0x2B, 0x2B),
            G => codes(0x22, 0x34, 0x34),
            H => codes(0x23, 0x33, 0x33),
            J => codes(0x24, 0x3B, 0x3B),
            K => codes(0x25, 0x42, 0x42),
            L => codes(0x26, 0x4B, 0x4B),
            Semicolon => codes(0x27, 0x4C, 0x4C),
            Quote => codes(0x28, 0x52, 0x52),
            Enter => codes(0x1C, 0x5A, 0x5A),
            ShiftLeft => codes(0x2A, 0x12, 0x12),
            IntlBackslash => codes(0x56, 0x61, 0x13),
            Z => codes(0x2C, 0x1A, 0x1A),
            X => codes(0x2D, 0x22, 0x22),
            C => codes(0x2E, 0x21, 0x21),
            V => codes(0x2F, 0x2A, 0x2A),
            B => codes(0x30, 0x32, 0x32),
            N => codes(0x31, 0x31, 0x31),
            M => codes(0x32, 0x3A, 0x3A),
            Comma => codes(0x33, 0x41, 0x41),
            Period => codes(0x34, 0x49, 0x49),
            Slash => codes(0x35, 0x4A, 0x4A),
            ShiftRight => codes(0x36, 0x59, 0x59),
            ControlLeft => codes(0x1D, 0x14, 0x11),
            MetaLeft => codes(0xE05B, 0xE01F, 0x8B),
            AltLeft => codes(0x38, 0x11, 0x19),
            Space => codes(0x39, 0x29, 0x29),
            AltRight => codes(0xE038, 0xE011, 0x39),
            MetaRight => codes(0xE05C, 0xE027, 0x8C),
            ContextMenu => codes(0xE05D, 0xE02F, 0x8D),
            ControlRight => codes(0xE01D, 0xE014, 0x58),
            Insert => codes(0xE052, 0xE070, 0x67),
            Home => codes(0xE047, 0xE06C, 0x6E),
            PageUp => codes(0xE049, 0xE07D, 0x6F),
            Delete => codes(0xE053, 0xE071, 0x64),
            End => codes(0xE04F, 0xE069, 0x65),
            PageDown => codes(0xE051, 0xE07A, 0x6D),
            ArrowUp => codes(0xE048, 0xE075, 0x63),
            ArrowLeft => codes(0xE04B, 0xE06B, 0x61),
            ArrowDown => codes(0xE050, 0xE072, 0x60),
            ArrowRight => codes(0xE04D, 0xE074, 0x6A),
            NumLock => codes(0x45, 0x77, 0x76),
            NumpadDivide => codes(0xE035, 0xE04A, 0x77),
            NumpadMultiply => codes(0x37, 0x7C, 0x7E),
            NumpadSubtract => codes(0x4A, 0x7B, 0x84),
            Numpad7 => codes(0x47, 0x6C, 0x6C),
            Numpad8 => codes(0x48, 0x75, 0x75),
            Numpad9 => codes(0x49, 0x7D, 0x7D),
            NumpadAdd => codes(0x4E, 0x79, 0x7C),
            Numpad4 => codes(0x4B, 0x6B, 0x6B),
            Numpad5 => codes(0x4C, 0x73, 0x73),
            Numpad6 => codes(0x4D, 0x74, 0x74),
            Numpad1 => codes(0x4F, 0x69, 0x69),
            Numpad2 => codes(0x50, 0x72, 0x72),
            Numpad3 => codes(0x51, 0x7A, 0x7A),
            NumpadEnter => codes(0xE01C, 0xE05A, 0x79),
            Numpad0 => codes(0x52, 0x70, 0x70),
            NumpadDecimal => codes(0x53, 0x71, 0x71),
        }
    }

    /// The key whose set 2 make code is `code` (0xE0xx for E0-prefixed
    /// keys; PrintScreen is 0xE07C and Pause 0xE114).
    pub fn from_set2(code: u16) -> Option<Key> {
        Key::ALL.iter().copied().find(|k| k.codes().set2 == code)
    }

    /// The key whose set 1 make code is `code` (0xE0xx for E0-prefixed
    /// keys; PrintScreen is 0xE037 and Pause 0xE11D).
    pub fn from_set1(code: u16) -> Option<Key> {
        Key::ALL.iter().copied().find(|k| k.codes().set1 == code)
    }

    /// Set 3 code of the key.
    pub fn set3(self) -> u8 {
        self.codes().set3
    }

    /// The bytes the keyboard sends for this key in scan code set `set`
    /// (1, 2 or 3; anything else is treated as 2). In set 3 a break is
    /// always `F0 code` here; whether it is sent depends on the key's type.
    /// Pause has no break code in sets 1 and 2 (an empty sequence).
    pub fn scan_codes(self, set: u8, pressed: bool) -> Vec<u8> {
        let c = self.codes();
        match (set, self) {
            (3, _) if pressed => vec![c.set3],
            (3, _) => vec![0xF0, c.set3],
            (1, Key::Pause) if pressed => vec![0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5],
            (1, Key::PrintScreen) if pressed => vec![0xE0, 0x2A, 0xE0, 0x37],
            (1, Key::PrintScreen) => vec![0xE0, 0xB7, 0xE0, 0xAA],
            (_, Key::Pause) if pressed => vec![0xE1, 0x14, 0x77, 0xE1, 0xF0, 0x14, 0xF0, 0x77],
            (_, Key::Pause) => Vec::new(),
            (1, _) => {
                let mut v = Vec::with_capacity(2);
                if c.set1 >> 8 == 0xE0 {
                    v.push(0xE0);
                }
                v.push(c.set1 as u8 | if pressed { 0 } else { 0x80 });
                v
            }
            (_, Key::PrintScreen) if pressed => vec![0xE0, 0x12, 0xE0, 0x7C],
            (_, Key::PrintScreen) => vec![0xE0, 0xF0, 0x7C, 0xE0, 0xF0, 0x12],
            _ => {
                let mut v = Vec::with_capacity(3);
                if c.set2 >> 8 == 0xE0 {
                    v.push(0xE0);
                }
                if !pressed {
                    v.push(0xF0);
                }
                v.push(c.set2 as u8);
                v
            }
        }
    }
}

/// The 8042's translation table for bytes 0x00-0x7F coming from the
/// keyboard (set 2 to set 1). Bytes 0x80-0xFF pass unchanged except 0x83
/// and 0x84, see [`translate`].
const XLATE: [u8; 128] = [
    0xFF, 0x43, 0x41, 0x3F, 0x3D, 0x3B, 0x3C, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3E, 0x0F, 0x29,
    0x59, //
    0x65, 0x38, 0x2A, 0x70, 0x1D, 0x10, 0x02, 0x5A, 0x66, 0x71, 0x2C, 0x1F, 0x1E, 0x11, 0x03,
    0x5B, //
    0x67, 0x2E, 0x2D, 0x20, 0x12, 0x05, 0x04, 0x5C, 0x68, 0x39, 0x2F, 0x21, 0x14, 0x13, 0x06,
    0x5D, //
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5E, 0x6A, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09,
    0x5F, //
    0x6B, 0x33, 0x25, 0x17, 0x18, 0x0B, 0x0A, 0x60, 0x6C, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0C,
    0x61, //
    0x6D, 0x73, 0x28, 0x74, 0x1A, 0x0D, 0x62, 0x6E, 0x3A, 0x36, 0x1C, 0x1B, 0x75, 0x2B, 0x63,
    0x76, //
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7A, 0x0E, 0x7B, 0x7C, 0x4F, 0x7D, 0x4B, 0x47, 0x7E, 0x7F,
    0x6F, //
    0x52, 0x53, 0x50, 0x4C, 0x4D, 0x48, 0x01, 0x45, 0x57, 0x4E, 0x51, 0x4A, 0x37, 0x49, 0x46,
    0x54, //
];

/// One byte through the controller's translator (without the 0xF0 prefix
/// handling, which needs state).
fn translate(b: u8) -> u8 {
    match b {
        0x00..=0x7F => XLATE[usize::from(b)],
        0x83 => 0x41,
        0x84 => 0x54,
        _ => b,
    }
}

// ---------------------------------------------------------------------------
// The keyboard

// Set 3 key type bits.
const K3_REPEAT: u8 = 0x01;
const K3_BREAK: u8 = 0x02;

/// Default typematic byte: 10.9 characters/s after 500 ms.
const TYPEMATIC_DEFAULT: u8 = 0x2B;

#[derive(Debug, Clone)]
struct Keyboard {
    queue: VecDeque<u8>,
    scanning: bool,
    set: u8,
    leds: u8,
    typematic: u8,
    /// A command waiting for its parameter (0xED, 0xF0, 0xF3) or taking a
    /// list of set 3 codes (0xFB-0xFD).
    pending: Option<u8>,
    /// Last byte handed to the controller, for 0xFE (resend).
    last_sent: u8,
    down: [bool; Key::ALL.len()],
    /// Set 3 key types, indexed by set 3 code.
    set3_type: [u8; 256],
}

impl Keyboard {
    fn new() -> Self {
        let mut k = Keyboard {
            queue: VecDeque::new(),
            scanning: true,
            set: 2,
            leds: 0,
            typematic: TYPEMATIC_DEFAULT,
            pending: None,
            last_sent: 0,
            down: [false; Key::ALL.len()],
            set3_type: [0; 256],
        };
        k.defaults();
        k
    }

    /// Typematic rate/delay and set 3 key types back to their defaults:
    /// in set 3, Caps Lock, the Shift, Ctrl and left Alt keys and the
    /// Windows and Menu keys are make/break, every other key is make-only
    /// and typematic.
    fn defaults(&mut self) {
        self.typematic = TYPEMATIC_DEFAULT;
        self.set3_type = [K3_REPEAT; 256];
        for k in [
            Key::CapsLock,
            Key::ShiftLeft,
            Key::ShiftRight,
            Key::ControlLeft,
            Key::AltLeft,
            Key::MetaLeft,
            Key::MetaRight,
            Key::ContextMenu,
        ] {
            self.set3_type[usize::from(k.set3())] = K3_BREAK;
        }
    }

    fn push(&mut self, b: u8) {
        if self.queue.len() < QUEUE_CAP {
            self.queue.push_back(b);
        }
    }

    fn write(&mut self, b: u8) {
        if let Some(cmd) = self.pending {
            // A command byte (0xED-0xFF) cuts a parameter or list short.
            if b < 0xED {
                self.parameter(cmd, b);
                return;
            }
            self.pending = None;
        }
        self.command(b);
    }

    fn parameter(&mut self, cmd: u8, b: u8) {
        match cmd {
            0xED => {
                self.leds = b & 0x07;
                self.pending = None;
                self.push(ACK);
            }
            0xF3 => {
                self.typematic = b & 0x7F;
                self.pending = None;
                self.push(ACK);
            }
            0xF0 => {
                self.pending = None;
                match b {
                    0 => {
                        self.push(ACK);
                        self.push(self.set);
                    }
                    1..=3 => {
                        self.set = b;
                        self.push(ACK);
                    }
                    _ => self.push(RESEND),
                }
            }
            // 0xFB-0xFD: one set 3 key per byte until the next command.
            _ => {
                self.set3_type[usize::from(b)] = match cmd {
                    0xFB => K3_REPEAT,
                    0xFC => K3_BREAK,
                    _ => 0,
                };
                self.push(ACK);
            }
        }
    }

    fn command(&mut self, b: u8) {
        // Whatever the keyboard had not sent yet is dropped.
        self.queue.clear();
        match b {
            0xED | 0xF0 | 0xF3 | 0xFB..=0xFD => {
                self.pending = Some(b);
                self.push(ACK);
            }
            0xEE => self.push(ECHO),
            0xF2 => {
                self.push(ACK);
                self.push(0xAB);
                self.push(0x83);
            }
            0xF4 => {
                self.scanning = true;
                self.push(ACK);
            }
            0xF5 => {
                self.defaults();
                self.scanning = false;
                self.push(ACK);
            }
            0xF6 => {
                self.defaults();
                self.scanning = true;
                self.push(ACK);
            }
            0xF7..=0xFA => {
                let t = match b {
                    0xF7 => K3_REPEAT,
                    0xF8 => K3_BREAK,
                    0xF9 => 0,
                    _ => K3_REPEAT | K3_BREAK,
                };
                self.set3_type = [t; 256];
                self.push(ACK);
            }
            0xFE => self.push(self.last_sent),
            0xFF => {
                self.defaults();
                self.scanning = true;
                self.set = 2;
                self.leds = 0;
                self.down = [false; Key::ALL.len()];
                self.push(ACK);
                self.push(BAT_OK);
            }
            _ => self.push(RESEND),
        }
    }

    fn key_event(&mut self, key: Key, pressed: bool) {
        let idx = key as usize;
        let was_down = std::mem::replace(&mut self.down[idx], pressed);
        if !self.scanning {
            return;
        }
        let set = self.set;
        if set == 3 {
            let t = self.set3_type[usize::from(key.set3())];
            if pressed && was_down && t & K3_REPEAT == 0 {
                return;
            }
            if !pressed && t & K3_BREAK == 0 {
                return;
            }
        }
        let bytes = key.scan_codes(set, pressed);
        if self.queue.len() + bytes.len() > QUEUE_CAP {
            // Buffer overrun: the keyboard sends its overrun code instead.
            let overrun = if set == 1 { 0xFF } else { 0x00 };
            if self.queue.back() != Some(&overrun) {
                if self.queue.len() == QUEUE_CAP {
                    self.queue.pop_back();
                }
                self.queue.push_back(overrun);
            }
            return;
        }
        self.queue.extend(bytes);
    }
}

// ---------------------------------------------------------------------------
// The mouse

#[derive(Debug, Clone)]
struct Mouse {
    queue: VecDeque<u8>,
    reporting: bool,
    remote: bool,
    wrap: bool,
    scaling_2to1: bool,
    resolution: u8,
    sample_rate: u8,
    /// 0 for a standard PS/2 mouse, 3 once the wheel is enabled.
    id: u8,
    rates: [u8; 3],
    pending: Option<u8>,
    last_sent: u8,
    buttons: u8,
    /// Motion not yet reported, PS/2 orientation (y up, z = wheel count).
    dx: i32,
    dy: i32,
    dz: i32,
    /// A report is owed (motion or a button change).
    dirty: bool,
}

impl Mouse {
    fn new() -> Self {
        Mouse {
            queue: VecDeque::new(),
            reporting: false,
            remote: false,
            wrap: false,
            scaling_2to1: false,
            resolution: 2,
            sample_rate: 100,
            id: 0,
            rates: [0; 3],
            pending: None,
            last_sent: 0,
            buttons: 0,
            dx: 0,
            dy: 0,
            dz: 0,
            dirty: false,
        }
    }

    fn defaults(&mut self) {
        self.sample_rate = 100;
        self.resolution = 2;
        self.scaling_2to1 = false;
        self.reporting = false;
        self.remote = false;
        self.clear_motion();
    }

    fn clear_motion(&mut self) {
        self.dx = 0;
        self.dy = 0;
        self.dz = 0;
        self.dirty = false;
    }

    fn push(&mut self, b: u8) {
        if self.queue.len() < QUEUE_CAP {
            self.queue.push_back(b);
        }
    }

    fn packet_len(&self) -> usize {
        if self.id == 3 {
            4
        } else {
            3
        }
    }

    fn scale(&self, v: i32) -> i32 {
        if !self.scaling_2to1 {
            return v;
        }
        let m = v.abs();
        let s = match m {
            0..=1 => m,
            2 => 1,
            3 => 3,
            4 => 6,
            5 => 9,
            _ => m.saturating_mul(2),
        };
        s * v.signum()
    }

    /// Takes up to one packet's worth of accumulated motion and queues the
    /// packet. `stream` applies 2:1 scaling (it is not used for 0xEB).
    fn emit_packet(&mut self, stream: bool) {
        let dx = self.dx.clamp(-256, 255);
        let dy = self.dy.clamp(-256, 255);
        let dz = self.dz.clamp(-8, 7);
        self.dx -= dx;
        self.dy -= dy;
        self.dz -= dz;
        if self.dx == 0 && self.dy == 0 && self.dz == 0 {
            self.dirty = false;
        }
        let (mut sx, mut sy) = (dx, dy);
        if stream {
            sx = self.scale(dx);
            sy = self.scale(dy);
        }
        let x_over = !(-256..=255).contains(&sx);
        let y_over = !(-256..=255).contains(&sy);
        let sx = sx.clamp(-256, 255);
        let sy = sy.clamp(-256, 255);
        let mut b0 = (self.buttons & 0x07) | 0x08;
        if sx < 0 {
            b0 |= 0x10;
        }
        if sy < 0 {
            b0 |= 0x20;
        }
        if x_over {
            b0 |= 0x40;
        }
        if y_over {
            b0 |= 0x80;
        }
        self.push(b0);
        self.push(sx as u8);
        self.push(sy as u8);
        if self.id == 3 {
            self.push(dz as u8);
        }
    }

    /// Streams owed packets while the queue has room.
    fn pump(&mut self) {
        if !self.reporting || self.remote || self.wrap {
            return;
        }
        while self.dirty && self.queue.len() + self.packet_len() <= MOUSE_PACKET_QUEUE {
            self.emit_packet(true);
        }
    }

    fn motion(&mut self, dx: i32, dy_down: i32, dz: i32, buttons: u8) {
        let buttons = buttons & 0x07;
        if buttons != self.buttons {
            self.dirty = true;
        }
        self.buttons = buttons;
        if !self.reporting && !self.remote {
            return;
        }
        self.dx = self.dx.saturating_add(dx);
        self.dy = self.dy.saturating_sub(dy_down);
        if self.id == 3 {
            self.dz = self.dz.saturating_add(dz);
        }
        if self.dx != 0 || self.dy != 0 || self.dz != 0 {
            self.dirty = true;
        }
        self.pump();
    }

    fn write(&mut self, b: u8) {
        if self.wrap && b != 0xEC && b != 0xFF {
            self.push(b);
            return;
        }
        if let Some(cmd) = self.pending.take() {
            match cmd {
                0xF3 => {
                    self.sample_rate = b;
                    self.rates = [self.rates[1], self.rates[2], b];
                    if self.rates == [200, 100, 80] {
                        self.id = 3;
                    }
                }
                _ => self.resolution = b & 0x03,
            }
            self.push(ACK);
            return;
        }
        // A command stops the stream: unsent bytes are dropped.
        self.queue.clear();
        match b {
            0xE6 => {
                self.scaling_2to1 = false;
                self.push(ACK);
            }
            0xE7 => {
                self.scaling_2to1 = true;
                self.push(ACK);
            }
            0xE8 | 0xF3 => {
                self.pending = Some(b);
                self.push(ACK);
            }
            0xE9 => {
                self.push(ACK);
                let mut s = 0;
                if self.remote {
                    s |= 0x40;
                }
                if self.reporting {
                    s |= 0x20;
                }
                if self.scaling_2to1 {
                    s |= 0x10;
                }
                if self.buttons & MOUSE_LEFT != 0 {
                    s |= 0x04;
                }
                if self.buttons & MOUSE_MIDDLE != 0 {
                    s |= 0x02;
                }
                if self.buttons & MOUSE_RIGHT != 0 {
                    s |= 0x01;
                }
                self.push(s);
                self.push(self.resolution);
                self.push(self.sample_rate);
            }
            0xEA => {
                self.remote = false;
                self.clear_motion();
                self.push(ACK);
            }
            0xEB => {
                self.push(ACK);
                self.emit_packet(false);
            }
            0xEC => {
                self.wrap = false;
                self.push(ACK);
            }
            0xEE => {
                self.wrap = true;
                self.clear_motion();
                self.push(ACK);
            }
            0xF0 => {
                self.remote = true;
                self.clear_motion();
                self.push(ACK);
            }
            0xF2 => {
                self.push(ACK);
                self.push(self.id);
            }
            0xF4 => {
                self.reporting = true;
                self.clear_motion();
                self.push(ACK);
            }
            0xF5 => {
                self.reporting = false;
                self.clear_motion();
                self.push(ACK);
            }
            0xF6 => {
                self.defaults();
                self.push(ACK);
            }
            0xFE => self.push(self.last_sent),
            0xFF => {
                self.defaults();
                self.wrap = false;
                self.id = 0;
                self.rates = [0; 3];
                self.push(ACK);
                self.push(BAT_OK);
                self.push(0x00);
            }
            _ => self.push(RESEND),
        }
    }
}

// ---------------------------------------------------------------------------
// The controller

/// Who put the byte in the output buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The controller itself or the keyboard (IRQ 1).
    Kbd,
    /// The mouse (IRQ 12, auxiliary output buffer full).
    Aux,
}

/// The 8042 keyboard controller with its PS/2 keyboard and mouse.
#[derive(Debug, Clone)]
pub struct I8042 {
    /// Internal RAM; byte 0 is the command byte.
    ram: [u8; 32],
    output_port: u8,
    /// The last write went to the command port.
    cmd_flag: bool,
    /// Output buffer: the byte and whether it is still unread.
    obuf: u8,
    obuf_full: bool,
    obuf_src: Source,
    /// Bytes the controller itself produced, waiting for the output buffer.
    ctrl_queue: VecDeque<(u8, Source)>,
    /// A controller command waiting for its data byte on port 0x60.
    pending: Option<u8>,
    /// Translator state: an 0xF0 prefix was swallowed.
    xlate_break: bool,
    /// The next byte may not enter the output buffer before this time.
    next_load_ns: u64,
    last_now: u64,
    kbd: Keyboard,
    mouse: Mouse,
    /// Set when the guest pulses or writes the output port's reset line;
    /// the board polls and clears it (see [`I8042::take_reset_request`]).
    pub reset_requested: bool,
}

impl Default for I8042 {
    fn default() -> Self {
        Self::new()
    }
}

impl I8042 {
    /// Power-on state: translation on, keyboard enabled with its interrupt,
    /// mouse interface disabled, A20 enabled in the output port, keyboard
    /// scanning in set 2, mouse in stream mode with reporting off.
    pub fn new() -> Self {
        let mut ram = [0u8; 32];
        ram[0] = CB_POWER_ON;
        I8042 {
            ram,
            output_port: OP_POWER_ON,
            cmd_flag: false,
            obuf: 0,
            obuf_full: false,
            obuf_src: Source::Kbd,
            ctrl_queue: VecDeque::new(),
            pending: None,
            xlate_break: false,
            next_load_ns: 0,
            last_now: 0,
            kbd: Keyboard::new(),
            mouse: Mouse::new(),
            reset_requested: false,
        }
    }

    /// Back to the power-on state (controller, keyboard and mouse). A real
    /// controller keeps running through a CPU reset; a board that wants
    /// that behaviour simply does not call this on a warm reset.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    fn cb(&self) -> u8 {
        self.ram[0]
    }

    /// Level of IRQ 1: keyboard (or controller) data waiting and the
    /// keyboard interrupt enabled in the command byte.
    pub fn irq1_level(&self) -> bool {
        self.obuf_full && self.obuf_src == Source::Kbd && self.cb() & CB_KBD_INT != 0
    }

    /// Level of IRQ 12: mouse data waiting and the mouse interrupt enabled.
    pub fn irq12_level(&self) -> bool {
        self.obuf_full && self.obuf_src == Source::Aux && self.cb() & CB_AUX_INT != 0
    }

    /// Whether the output port lets address line A20 through. (Port 0x92
    /// also drives A20; the board ORs the two.)
    pub fn a20_enabled(&self) -> bool {
        self.output_port & OP_A20 != 0
    }

    /// Take a pending reset request.
    pub fn take_reset_request(&mut self) -> bool {
        std::mem::take(&mut self.reset_requested)
    }

    /// The keyboard LEDs as last set by the guest: bit 0 Scroll Lock,
    /// bit 1 Num Lock, bit 2 Caps Lock.
    pub fn leds(&self) -> u8 {
        self.kbd.leds
    }

    /// The keyboard's scan code set (1, 2 or 3).
    pub fn scan_code_set(&self) -> u8 {
        self.kbd.set
    }

    /// The typematic setting the guest programmed: (delay before repeat in
    /// ms, repeat rate in characters per second).
    pub fn typematic(&self) -> (u32, f64) {
        let t = self.kbd.typematic;
        let delay = 250 * (1 + u32::from((t >> 5) & 3));
        let a = f64::from(t & 7);
        let b = f64::from(1u32 << ((t >> 3) & 3));
        (delay, 1000.0 / ((8.0 + a) * b * 4.17))
    }

    /// Whether the guest has enabled mouse data reporting (a front end may
    /// grab the host pointer only then).
    pub fn mouse_reporting(&self) -> bool {
        self.mouse.reporting
    }

    /// A key went down (`pressed`) or up on the host. For typematic repeat
    /// call it again with `pressed = true` at the host's repeat rate.
    pub fn key_event(&mut self, key: Key, pressed: bool) {
        self.kbd.key_event(key, pressed);
        self.load();
    }

    /// The host mouse moved by (`dx`, `dy`) counts (`dx` > 0 right, `dy` > 0
    /// down, as on the host screen) with `buttons` held ([`MOUSE_LEFT`],
    /// [`MOUSE_RIGHT`], [`MOUSE_MIDDLE`]).
    pub fn mouse_event(&mut self, dx: i32, dy: i32, buttons: u8) {
        self.mouse.motion(dx, dy, 0, buttons);
        self.load();
    }

    /// The host wheel turned by `steps` (> 0: away from the user, scrolling
    /// up). Reported only once the guest enabled the wheel (mouse ID 3).
    pub fn mouse_wheel(&mut self, steps: i32) {
        let buttons = self.mouse.buttons;
        self.mouse.motion(0, 0, steps.saturating_neg(), buttons);
        self.load();
    }

    /// Catch up with virtual time: moves the next byte into the output
    /// buffer once the gap after the previous read has passed.
    pub fn tick(&mut self, now_ns: u64) {
        self.last_now = self.last_now.max(now_ns);
        self.load();
    }

    /// When [`I8042::tick`] has something to do: the output buffer is empty
    /// and a byte is waiting.
    pub fn next_deadline(&self) -> Option<u64> {
        if self.obuf_full || !self.has_waiting() {
            return None;
        }
        Some(self.next_load_ns)
    }

    fn has_waiting(&self) -> bool {
        !self.ctrl_queue.is_empty()
            || (self.cb() & CB_KBD_DISABLE == 0 && !self.kbd.queue.is_empty())
            || (self.cb() & CB_AUX_DISABLE == 0 && !self.mouse.queue.is_empty())
    }

    /// Fill the output buffer from the controller's queue, then the
    /// keyboard, then the mouse (each only while its interface is enabled).
    fn load(&mut self) {
        if self.obuf_full || self.last_now < self.next_load_ns {
            return;
        }
        if let Some((b, src)) = self.ctrl_queue.pop_front() {
            self.fill(b, src);
            return;
        }
        if self.cb() & CB_KBD_DISABLE == 0 {
            while let Some(b) = self.kbd.queue.pop_front() {
                self.kbd.last_sent = b;
                if self.cb() & CB_XLATE != 0 {
                    if b == 0xF0 {
                        self.xlate_break = true;
                        continue;
                    }
                    let mut t = translate(b);
                    if std::mem::take(&mut self.xlate_break) {
                        t |= 0x80;
                    }
                    self.fill(t, Source::Kbd);
                } else {
                    self.fill(b, Source::Kbd);
                }
                return;
            }
        }
        if self.cb() & CB_AUX_DISABLE == 0 {
            if let Some(b) = self.mouse.queue.pop_front() {
                self.mouse.last_sent = b;
                self.mouse.pump();
                self.fill(b, Source::Aux);
            }
        }
    }

    fn fill(&mut self, b: u8, src: Source) {
        self.obuf = b;
        self.obuf_full = true;
        self.obuf_src = src;
    }

    fn queue_ctrl(&mut self, b: u8, src: Source) {
        if self.ctrl_queue.len() < QUEUE_CAP {
            self.ctrl_queue.push_back((b, src));
        }
    }

    fn status(&self) -> u8 {
        let mut s = ST_UNLOCKED;
        if self.obuf_full {
            s |= ST_OBF;
            if self.obuf_src == Source::Aux {
                s |= ST_AUX_OBF;
            }
        }
        if self.cb() & CB_SYS != 0 {
            s |= ST_SYS;
        }
        if self.cmd_flag {
            s |= ST_CMD;
        }
        s
    }

    fn read_output_port(&self) -> u8 {
        let mut v = self.output_port & !(OP_KBD_OBF | OP_AUX_OBF);
        if self.irq1_level() {
            v |= OP_KBD_OBF;
        }
        if self.irq12_level() {
            v |= OP_AUX_OBF;
        }
        v
    }

    fn write_output_port(&mut self, v: u8) {
        self.output_port = v;
        if v & OP_RESET == 0 {
            self.reset_requested = true;
            // The reset line is released when the CPU restarts.
            self.output_port |= OP_RESET;
        }
    }

    fn read_data(&mut self, now: u64) -> u8 {
        if self.obuf_full {
            self.obuf_full = false;
            self.next_load_ns = now.saturating_add(BYTE_GAP_NS);
        }
        self.obuf
    }

    fn write_command(&mut self, c: u8) {
        self.cmd_flag = true;
        self.pending = None;
        match c {
            0x20..=0x3F => self.queue_ctrl(self.ram[usize::from(c & 0x1F)], Source::Kbd),
            0x60..=0x7F | 0xD1..=0xD4 => self.pending = Some(c),
            0xA4 => self.queue_ctrl(0xF1, Source::Kbd), // no password installed
            0xA7 => self.ram[0] |= CB_AUX_DISABLE,
            0xA8 => self.ram[0] &= !CB_AUX_DISABLE,
            0xA9 | 0xAB => self.queue_ctrl(0x00, Source::Kbd),
            0xAA => self.queue_ctrl(0x55, Source::Kbd),
            0xAD => self.ram[0] |= CB_KBD_DISABLE,
            0xAE => self.ram[0] &= !CB_KBD_DISABLE,
            0xC0 => self.queue_ctrl(INPUT_PORT, Source::Kbd),
            0xD0 => {
                let v = self.read_output_port();
                self.queue_ctrl(v, Source::Kbd);
            }
            0xDD => self.output_port &= !OP_A20,
            0xDF => self.output_port |= OP_A20,
            0xE0 => self.queue_ctrl(0x00, Source::Kbd),
            // Pulses of output port bits 0-3 (a 0 bit pulses); only bit 0,
            // the reset line, has an effect.
            0xF0..=0xFF if c & OP_RESET == 0 => self.reset_requested = true,
            // Anything else (other pulses, vendor commands) is ignored.
            _ => {}
        }
    }

    fn write_data(&mut self, b: u8) {
        self.cmd_flag = false;
        match self.pending.take() {
            Some(c @ 0x60..=0x7F) => {
                self.ram[usize::from(c & 0x1F)] = if c == 0x60 { b & 0x7F } else { b };
            }
            Some(0xD1) => self.write_output_port(b),
            Some(0xD2) => self.queue_ctrl(b, Source::Kbd),
            Some(0xD3) => self.queue_ctrl(b, Source::Aux),
            Some(0xD4) => self.mouse.write(b),
            _ => self.kbd.write(b),
        }
    }
}

impl PortDevice for I8042 {
    fn port_read(&mut self, port: u16, size: u8, now_ns: u64) -> u32 {
        self.tick(now_ns);
        split_read(port, size, |p| match p {
            I8042_DATA_PORT => self.read_data(now_ns),
            I8042_CMD_PORT => self.status(),
            _ => 0xFF,
        })
    }

    fn port_write(&mut self, port: u16, size: u8, value: u32, now_ns: u64) {
        self.tick(now_ns);
        split_write(port, size, value, |p, b| match p {
            I8042_DATA_PORT => self.write_data(b),
            I8042_CMD_PORT => self.write_command(b),
            _ => {}
        });
        self.load();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A controller whose clock runs: each access is far enough apart for
    /// the inter-byte gap to have passed.
    struct Bench {
        kbc: I8042,
        now: u64,
    }

    impl Bench {
        fn new() -> Self {
            Bench {
                kbc: I8042::new(),
                now: 0,
            }
        }
        fn step(&mut self) -> u64 {
            self.now += BYTE_GAP_NS;
            self.now
        }
        fn status(&mut self) -> u8 {
            let t = self.step();
            self.kbc.port_read(I8042_CMD_PORT, 1, t) as u8
        }
        fn cmd(&mut self, c: u8) {
            let t = self.step();
            self.kbc.port_write(I8042_CMD_PORT, 1, u32::from(c), t);
        }
        fn data(&mut self, b: u8) {
            let t = self.step();
            self.kbc.port_write(I8042_DATA_PORT, 1, u32::from(b), t);
        }
        /// Next byte if the output buffer holds one.
        fn read(&mut self) -> Option<u8> {
            if self.status() & ST_OBF == 0 {
                return None;
            }
            let t = self.step();
            Some(self.kbc.port_read(I8042_DATA_PORT, 1, t) as u8)
        }
        fn drain(&mut self) -> Vec<u8> {
            std::iter::from_fn(|| self.read()).collect()
        }
        fn set_cb(&mut self, v: u8) {
            self.cmd(0x60);
            self.data(v);
        }
        fn mouse(&mut self, b: u8) {
            self.cmd(0xD4);
            self.data(b);
        }
        /// Bytes to the mouse one at a time, collecting every answer (a
        /// device drops unsent output when it gets a new command).
        fn mcmds(&mut self, bytes: &[u8]) -> Vec<u8> {
            let mut v = Vec::new();
            for &x in bytes {
                self.mouse(x);
                v.extend(self.drain());
            }
            v
        }
        fn kcmds(&mut self, bytes: &[u8]) -> Vec<u8> {
            let mut v = Vec::new();
            for &x in bytes {
                self.data(x);
                v.extend(self.drain());
            }
            v
        }
    }

    #[test]
    fn power_on_status_and_command_byte() {
        let mut b = Bench::new();
        let s = b.status();
        assert_eq!(s & ST_OBF, 0);
        assert_eq!(s & 0x02, 0, "IBF never stays set");
        assert_eq!(s & ST_SYS, 0, "cold boot");
        assert_ne!(s & ST_UNLOCKED, 0);
        b.cmd(0x20);
        assert_ne!(b.status() & ST_CMD, 0, "last write went to 0x64");
        assert_eq!(b.read(), Some(CB_POWER_ON));
        assert!(b.kbc.a20_enabled());
        assert!(!b.kbc.irq1_level() && !b.kbc.irq12_level());
    }

    #[test]
    fn command_byte_write_sets_system_flag_and_data_flag() {
        let mut b = Bench::new();
        b.set_cb(0x65);
        let s = b.status();
        assert_ne!(s & ST_SYS, 0);
        assert_eq!(s & ST_CMD, 0, "last write went to 0x60");
        b.cmd(0x20);
        assert_eq!(b.read(), Some(0x65));
        // Bit 7 is reserved and reads 0.
        b.set_cb(0xFF);
        b.cmd(0x20);
        assert_eq!(b.read(), Some(0x7F));
    }

    #[test]
    fn internal_ram_read_write() {
        let mut b = Bench::new();
        b.cmd(0x65);
        b.data(0x5A);
        b.cmd(0x25);
        assert_eq!(b.read(), Some(0x5A));
        b.cmd(0x3F);
        assert_eq!(b.read(), Some(0x00));
    }

    #[test]
    fn self_tests_and_interface_tests() {
        let mut b = Bench::new();
        b.cmd(0xAA);
        assert_eq!(b.read(), Some(0x55));
        b.cmd(0xAB);
        assert_eq!(b.read(), Some(0x00));
        b.cmd(0xA9);
        assert_eq!(b.read(), Some(0x00));
        b.cmd(0xA4);
        assert_eq!(b.read(), Some(0xF1));
        b.cmd(0xC0);
        assert_eq!(b.read(), Some(INPUT_PORT));
        b.cmd(0xE0);
        assert_eq!(b.read(), Some(0x00));
        // Unknown commands do nothing and produce nothing.
        b.cmd(0xC7);
        assert_eq!(b.read(), None);
    }

    #[test]
    fn enable_disable_bits_in_command_byte() {
        let mut b = Bench::new();
        b.cmd(0xA8);
        b.cmd(0x20);
        assert_eq!(b.read().unwrap() & CB_AUX_DISABLE, 0);
        b.cmd(0xA7);
        b.cmd(0x20);
        assert_ne!(b.read().unwrap() & CB_AUX_DISABLE, 0);
        b.cmd(0xAD);
        b.cmd(0x20);
        assert_ne!(b.read().unwrap() & CB_KBD_DISABLE, 0);
        b.cmd(0xAE);
        b.cmd(0x20);
        assert_eq!(b.read().unwrap() & CB_KBD_DISABLE, 0);
    }

    #[test]
    fn output_port_a20_and_reset() {
        let mut b = Bench::new();
        b.cmd(0xD1);
        b.data(0xDD); // A20 off, reset line high
        assert!(!b.kbc.a20_enabled());
        assert!(!b.kbc.reset_requested);
        b.cmd(0xD0);
        assert_eq!(b.read().unwrap() & 0x03, 0x01);
        b.cmd(0xD1);
        b.data(0xDF);
        assert!(b.kbc.a20_enabled());
        b.cmd(0xD1);
        b.data(0xDE); // bit 0 low: reset
        assert!(b.kbc.take_reset_request());
        assert!(!b.kbc.take_reset_request());
        // 0xDD/0xDF shortcuts.
        b.cmd(0xDD);
        assert!(!b.kbc.a20_enabled());
        b.cmd(0xDF);
        assert!(b.kbc.a20_enabled());
    }

    #[test]
    fn output_port_reads_irq_lines() {
        let mut b = Bench::new();
        b.set_cb(0x03);
        b.cmd(0xD2);
        b.data(0x42); // keyboard output buffer, IRQ 1 up
        assert!(b.kbc.irq1_level());
        // Reading the output port through the controller queues behind the
        // byte still in the buffer.
        b.cmd(0xD0);
        assert_eq!(b.read(), Some(0x42));
        let op = b.read().unwrap();
        // When 0xD0 ran, IRQ 1 was up.
        assert_ne!(op & OP_KBD_OBF, 0);
        assert_eq!(op & OP_AUX_OBF, 0);
    }

    #[test]
    fn pulse_commands_reset_only_with_bit0_clear() {
        let mut b = Bench::new();
        b.cmd(0xFF);
        assert!(!b.kbc.reset_requested);
        b.cmd(0xFD);
        assert!(!b.kbc.reset_requested);
        b.cmd(0xFE);
        assert!(b.kbc.take_reset_request());
        b.cmd(0xF0);
        assert!(b.kbc.take_reset_request());
    }

    #[test]
    fn write_keyboard_and_aux_output_buffers() {
        let mut b = Bench::new();
        b.set_cb(0x03); // both interrupts, both interfaces enabled
        b.cmd(0xD2);
        b.data(0x12);
        assert!(b.kbc.irq1_level() && !b.kbc.irq12_level());
        assert_eq!(b.status() & ST_AUX_OBF, 0);
        // Not translated.
        assert_eq!(b.read(), Some(0x12));
        b.cmd(0xD3);
        b.data(0x34);
        assert!(!b.kbc.irq1_level() && b.kbc.irq12_level());
        assert_ne!(b.status() & ST_AUX_OBF, 0);
        assert_eq!(b.read(), Some(0x34));
        assert!(!b.kbc.irq12_level());
    }

    #[test]
    fn irq_follows_command_byte_enables() {
        let mut b = Bench::new();
        b.set_cb(0x00);
        b.cmd(0xD2);
        b.data(0x01);
        assert!(!b.kbc.irq1_level());
        b.set_cb(0x01);
        assert!(b.kbc.irq1_level());
        b.read();
        assert!(!b.kbc.irq1_level());
    }

    #[test]
    fn keyboard_reset_and_identify() {
        let mut b = Bench::new();
        b.set_cb(0x01); // no translation
        b.data(0xFF);
        assert_eq!(b.drain(), vec![0xFA, 0xAA]);
        b.data(0xF2);
        assert_eq!(b.drain(), vec![0xFA, 0xAB, 0x83]);
        // Translated, the ID reads 0xAB 0x41.
        b.set_cb(0x41);
        b.data(0xF2);
        assert_eq!(b.drain(), vec![0xFA, 0xAB, 0x41]);
    }

    #[test]
    fn keyboard_leds_typematic_echo_resend() {
        let mut b = Bench::new();
        b.set_cb(0x01);
        b.data(0xED);
        assert_eq!(b.drain(), vec![0xFA]);
        b.data(0x05);
        assert_eq!(b.drain(), vec![0xFA]);
        assert_eq!(b.kbc.leds(), 0x05);
        assert_eq!(b.kbc.typematic().0, 500);
        assert_eq!(b.kcmds(&[0xF3, 0x7F]), vec![0xFA, 0xFA]);
        let (delay, rate) = b.kbc.typematic();
        assert_eq!(delay, 1000);
        assert!((rate - 2.0).abs() < 0.1, "{rate}");
        b.data(0xF3);
        b.data(0x00);
        b.drain();
        assert!((b.kbc.typematic().1 - 30.0).abs() < 0.1);
        b.data(0xEE);
        assert_eq!(b.drain(), vec![0xEE]);
        b.data(0xFE);
        assert_eq!(b.drain(), vec![0xEE]);
        // Unknown command.
        b.data(0x10);
        assert_eq!(b.drain(), vec![0xFE]);
        // A command instead of the LED byte aborts the LED command.
        b.data(0xED);
        b.data(0xF2);
        assert_eq!(b.drain(), vec![0xFA, 0xFA, 0xAB, 0x83]);
        assert_eq!(b.kbc.leds(), 0x05);
    }

    #[test]
    fn scan_code_set_get_and_set() {
        let mut b = Bench::new();
        b.set_cb(0x01);
        b.data(0xF0);
        b.data(0x00);
        assert_eq!(b.drain(), vec![0xFA, 0xFA, 0x02]);
        b.data(0xF0);
        b.data(0x01);
        assert_eq!(b.drain(), vec![0xFA, 0xFA]);
        assert_eq!(b.kbc.scan_code_set(), 1);
        b.data(0xF0);
        b.data(0x03);
        b.drain();
        assert_eq!(b.kbc.scan_code_set(), 3);
        b.data(0xF0);
        b.data(0x07);
        assert_eq!(b.drain(), vec![0xFA, 0xFE]);
        assert_eq!(b.kbc.scan_code_set(), 3);
        // Translated, the answer to "get" for set 2 reads 0x41.
        b.data(0xF0);
        b.data(0x02);
        b.set_cb(0x41);
        b.drain();
        b.data(0xF0);
        b.data(0x00);
        assert_eq!(b.drain(), vec![0xFA, 0xFA, 0x41]);
    }

    #[test]
    fn set2_make_and_break_untranslated() {
        let mut b = Bench::new();
        b.set_cb(0x01);
        b.kbc.key_event(Key::A, true);
        b.kbc.key_event(Key::A, false);
        assert_eq!(b.drain(), vec![0x1C, 0xF0, 0x1C]);
        b.kbc.key_event(Key::ArrowLeft, true);
        b.kbc.key_event(Key::ArrowLeft, false);
        assert_eq!(b.drain(), vec![0xE0, 0x6B, 0xE0, 0xF0, 0x6B]);
        b.kbc.key_event(Key::PrintScreen, true);
        b.kbc.key_event(Key::PrintScreen, false);
        assert_eq!(
            b.drain(),
            vec![0xE0, 0x12, 0xE0, 0x7C, 0xE0, 0xF0, 0x7C, 0xE0, 0xF0, 0x12]
        );
        b.kbc.key_event(Key::Pause, true);
        b.kbc.key_event(Key::Pause, false);
        assert_eq!(
            b.drain(),
            vec![0xE1, 0x14, 0x77, 0xE1, 0xF0, 0x14, 0xF0, 0x77]
        );
    }

    #[test]
    fn set2_translated_to_set1() {
        let mut b = Bench::new();
        b.set_cb(0x41);
        b.kbc.key_event(Key::A, true);
        b.kbc.key_event(Key::A, false);
        assert_eq!(b.drain(), vec![0x1E, 0x9E]);
        b.kbc.key_event(Key::ControlRight, true);
        b.kbc.key_event(Key::ControlRight, false);
        assert_eq!(b.drain(), vec![0xE0, 0x1D, 0xE0, 0x9D]);
        b.kbc.key_event(Key::F7, true);
        b.kbc.key_event(Key::F7, false);
        assert_eq!(b.drain(), vec![0x41, 0xC1]);
        b.kbc.key_event(Key::Pause, true);
        assert_eq!(b.drain(), vec![0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5]);
    }

    #[test]
    fn translation_of_every_set2_key_gives_its_set1_codes() {
        for key in Key::ALL {
            for pressed in [true, false] {
                let mut brk = false;
                let mut out = Vec::new();
                for b in key.scan_codes(2, pressed) {
                    if b == 0xF0 {
                        brk = true;
                        continue;
                    }
                    let mut t = translate(b);
                    if std::mem::take(&mut brk) {
                        t |= 0x80;
                    }
                    out.push(t);
                }
                assert_eq!(out, key.scan_codes(1, pressed), "{key:?} pressed={pressed}");
            }
        }
    }

    #[test]
    fn set1_untranslated() {
        let mut b = Bench::new();
        b.set_cb(0x01);
        b.data(0xF0);
        b.data(0x01);
        b.drain();
        b.kbc.key_event(Key::Enter, true);
        b.kbc.key_event(Key::NumpadEnter, true);
        b.kbc.key_event(Key::NumpadEnter, false);
        assert_eq!(b.drain(), vec![0x1C, 0xE0, 0x1C, 0xE0, 0x9C]);
    }

    #[test]
    fn set3_key_types() {
        let mut b = Bench::new();
        b.set_cb(0x01);
        b.data(0xF0);
        b.data(0x03);
        b.drain();
        // Letters: make only, typematic.
        b.kbc.key_event(Key::A, true);
        b.kbc.key_event(Key::A, true);
        b.kbc.key_event(Key::A, false);
        assert_eq!(b.drain(), vec![0x1C, 0x1C]);
        // Shift: make/break, not typematic.
        b.kbc.key_event(Key::ShiftLeft, true);
        b.kbc.key_event(Key::ShiftLeft, true);
        b.kbc.key_event(Key::ShiftLeft, false);
        assert_eq!(b.drain(), vec![0x12, 0xF0, 0x12]);
        // All keys make/break.
        b.data(0xF8);
        assert_eq!(b.drain(), vec![0xFA]);
        b.kbc.key_event(Key::Escape, true);
        b.kbc.key_event(Key::Escape, false);
        assert_eq!(b.drain(), vec![0x08, 0xF0, 0x08]);
        // Per-key: F1 make only, list ended by a command.
        assert_eq!(b.kcmds(&[0xFD, 0x07, 0xF4]), vec![0xFA; 3]);
        b.kbc.key_event(Key::F1, true);
        b.kbc.key_event(Key::F1, false);
        assert_eq!(b.drain(), vec![0x07]);
    }

    #[test]
    fn scanning_disabled_drops_keys_and_f5_f4() {
        let mut b = Bench::new();
        b.set_cb(0x01);
        b.data(0xF5);
        assert_eq!(b.drain(), vec![0xFA]);
        b.kbc.key_event(Key::B, true);
        assert_eq!(b.drain(), Vec::<u8>::new());
        b.data(0xF4);
        assert_eq!(b.drain(), vec![0xFA]);
        b.kbc.key_event(Key::B, true);
        assert_eq!(b.drain(), vec![0x32]);
    }

    #[test]
    fn keyboard_interface_disable_holds_bytes() {
        let mut b = Bench::new();
        b.set_cb(0x01);
        b.cmd(0xAD);
        b.kbc.key_event(Key::Q, true);
        assert_eq!(b.read(), None);
        b.cmd(0xAE);
        assert_eq!(b.drain(), vec![0x15]);
    }

    #[test]
    fn keyboard_buffer_overrun() {
        let mut b = Bench::new();
        b.set_cb(0x01);
        b.cmd(0xAD);
        for _ in 0..100 {
            b.kbc.key_event(Key::Z, true);
        }
        b.cmd(0xAE);
        let v = b.drain();
        assert_eq!(v.len(), QUEUE_CAP);
        assert_eq!(*v.last().unwrap(), 0x00);
        assert!(v[..QUEUE_CAP - 1].iter().all(|&x| x == 0x1A));
    }

    #[test]
    fn byte_gap_between_bytes_and_deadline() {
        let mut k = I8042::new();
        k.port_write(I8042_CMD_PORT, 1, 0x60, 0);
        k.port_write(I8042_DATA_PORT, 1, 0x01, 0);
        k.key_event(Key::A, true);
        k.key_event(Key::A, false);
        assert!(k.irq1_level());
        assert_eq!(k.next_deadline(), None);
        assert_eq!(k.port_read(I8042_DATA_PORT, 1, 1000), 0x1C);
        // IRQ drops; the next byte waits for the gap.
        assert!(!k.irq1_level());
        assert_eq!(k.next_deadline(), Some(1000 + BYTE_GAP_NS));
        assert_eq!(k.port_read(I8042_CMD_PORT, 1, 1500) & 1, 0);
        // Reading the empty buffer again returns the old byte.
        assert_eq!(k.port_read(I8042_DATA_PORT, 1, 1600), 0x1C);
        k.tick(1000 + BYTE_GAP_NS);
        assert!(k.irq1_level());
        assert_eq!(k.port_read(I8042_DATA_PORT, 1, 1000 + BYTE_GAP_NS), 0xF0);
    }

    #[test]
    fn mouse_reset_identify_and_status() {
        let mut b = Bench::new();
        b.set_cb(0x03); // interfaces enabled, both IRQs
        b.mouse(0xFF);
        assert!(b.kbc.irq12_level());
        assert_eq!(b.drain(), vec![0xFA, 0xAA, 0x00]);
        b.mouse(0xF2);
        assert_eq!(b.drain(), vec![0xFA, 0x00]);
        assert_eq!(b.mcmds(&[0xF3, 40, 0xE8, 3, 0xE7, 0xF4]), vec![0xFA; 6]);
        b.mouse(0xE9);
        assert_eq!(b.drain(), vec![0xFA, 0x30, 3, 40]);
        assert_eq!(
            b.mcmds(&[0xE6, 0xF5, 0xF0, 0xE9]),
            vec![0xFA, 0xFA, 0xFA, 0xFA, 0x40, 3, 40]
        );
        assert_eq!(b.mcmds(&[0xF6, 0xE9]), vec![0xFA, 0xFA, 0x00, 2, 100]);
        b.mouse(0x12);
        assert_eq!(b.drain(), vec![0xFE]);
    }

    #[test]
    fn mouse_stream_packets() {
        let mut b = Bench::new();
        b.set_cb(0x03);
        b.mouse(0xF4);
        b.drain();
        b.kbc.mouse_event(5, -3, MOUSE_LEFT);
        // Up is positive for PS/2.
        assert_eq!(b.drain(), vec![0x09, 5, 3]);
        b.kbc.mouse_event(-2, 4, MOUSE_RIGHT | MOUSE_MIDDLE);
        assert_eq!(b.drain(), vec![0x08 | 0x06 | 0x10 | 0x20, 0xFE, 0xFC]);
        // Large motion is split over several packets, nothing lost.
        b.kbc.mouse_event(600, 0, 0);
        let v = b.drain();
        assert_eq!(v.len() % 3, 0);
        let total: i32 = v
            .chunks(3)
            .map(|p| i32::from(p[1]) - if p[0] & 0x10 != 0 { 256 } else { 0 })
            .sum();
        assert_eq!(total, 600);
        assert!(v.chunks(3).all(|p| p[0] & 0xC0 == 0));
    }

    #[test]
    fn mouse_disabled_reporting_sends_nothing() {
        let mut b = Bench::new();
        b.set_cb(0x03);
        b.kbc.mouse_event(5, 5, MOUSE_LEFT);
        assert_eq!(b.drain(), Vec::<u8>::new());
        // But the status request sees the button.
        b.mouse(0xE9);
        assert_eq!(b.drain(), vec![0xFA, 0x04, 2, 100]);
    }

    #[test]
    fn mouse_aux_interface_disabled_holds_bytes() {
        let mut b = Bench::new();
        b.set_cb(0x23); // aux disabled
        b.mouse(0xF2);
        assert_eq!(b.read(), None);
        b.cmd(0xA8);
        assert_eq!(b.drain(), vec![0xFA, 0x00]);
    }

    #[test]
    fn mouse_scaling_2to1() {
        let mut b = Bench::new();
        b.set_cb(0x03);
        b.mcmds(&[0xF4, 0xE7]);
        for (inp, out) in [(1, 1), (2, 1), (3, 3), (4, 6), (5, 9), (10, 20)] {
            b.kbc.mouse_event(inp, 0, 0);
            assert_eq!(b.drain(), vec![0x08, out, 0], "{inp}");
        }
    }

    #[test]
    fn mouse_remote_mode_read_data() {
        let mut b = Bench::new();
        b.set_cb(0x03);
        b.mouse(0xF0);
        b.drain();
        b.kbc.mouse_event(7, 0, MOUSE_LEFT);
        assert_eq!(b.drain(), Vec::<u8>::new());
        b.mouse(0xEB);
        assert_eq!(b.drain(), vec![0xFA, 0x09, 7, 0]);
        b.mouse(0xEB);
        assert_eq!(b.drain(), vec![0xFA, 0x09, 0, 0]);
    }

    #[test]
    fn mouse_wrap_mode_echoes() {
        let mut b = Bench::new();
        b.set_cb(0x03);
        assert_eq!(
            b.mcmds(&[0xEE, 0x42, 0xF2, 0xEC, 0xF2]),
            vec![0xFA, 0x42, 0xF2, 0xFA, 0xFA, 0x00]
        );
    }

    #[test]
    fn intellimouse_wheel() {
        let mut b = Bench::new();
        b.set_cb(0x03);
        let v = b.mcmds(&[0xF3, 200, 0xF3, 100, 0xF3, 80, 0xF2]);
        assert_eq!(v, vec![0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0x03]);
        b.mouse(0xF4);
        b.drain();
        b.kbc.mouse_wheel(1);
        assert_eq!(b.drain(), vec![0x08, 0, 0, 0xFF]);
        b.mouse(0xFF);
        assert_eq!(b.drain(), vec![0xFA, 0xAA, 0x00]);
        b.mouse(0xF2);
        assert_eq!(b.drain(), vec![0xFA, 0x00]);
    }

    #[test]
    fn mouse_resend() {
        let mut b = Bench::new();
        b.set_cb(0x03);
        b.mouse(0xF2);
        b.drain();
        b.mouse(0xFE);
        assert_eq!(b.drain(), vec![0x00]);
    }

    #[test]
    fn keyboard_and_mouse_interleave() {
        let mut b = Bench::new();
        b.set_cb(0x43);
        b.mouse(0xF4);
        b.drain();
        b.kbc.key_event(Key::Space, true);
        b.kbc.mouse_event(1, 0, 0);
        assert_eq!(b.read(), Some(0x39));
        let s = b.status();
        assert_ne!(s & ST_AUX_OBF, 0);
        assert_eq!(b.drain(), vec![0x08, 1, 0]);
    }

    #[test]
    fn key_all_is_in_enum_order() {
        for (i, k) in Key::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i);
        }
    }

    #[test]
    fn key_lookup_helpers() {
        assert_eq!(Key::from_set2(0x1C), Some(Key::A));
        assert_eq!(Key::from_set2(0xE06B), Some(Key::ArrowLeft));
        assert_eq!(Key::from_set2(0xE114), Some(Key::Pause));
        assert_eq!(Key::from_set1(0x1E), Some(Key::A));
        assert_eq!(Key::from_set1(0xE048), Some(Key::ArrowUp));
        assert_eq!(Key::from_set2(0xEE), None);
        // Every key has distinct codes in every set.
        for (i, a) in Key::ALL.iter().enumerate() {
            for b in &Key::ALL[i + 1..] {
                assert_ne!(a.codes().set1, b.codes().set1, "{a:?} {b:?}");
                assert_ne!(a.codes().set2, b.codes().set2, "{a:?} {b:?}");
                assert_ne!(a.set3(), b.set3(), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn wide_and_foreign_accesses_do_not_panic() {
        let mut k = I8042::new();
        k.port_write(0x60, 4, 0xFFFF_FFFF, 0);
        let _ = k.port_read(0x60, 4, 0);
        let _ = k.port_read(0x64, 2, 0);
        assert_eq!(k.port_read(0x61, 1, 0), 0xFF);
        for c in 0..=255u8 {
            k.port_write(0x64, 1, u32::from(c), 0);
            k.port_write(0x60, 1, u32::from(c), 0);
        }
        k.reset();
        assert!(k.a20_enabled());
    }
}
