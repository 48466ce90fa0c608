//! The desktop window (minifb): shows the guest's screen, turns host keys
//! and mouse motion into PS/2 input, and reports the machine state and speed
//! in the title. It runs on its own thread and only exchanges messages with
//! the vCPU thread, so drawing never slows the guest.

use crane86_devices::{Frame, Key as PcKey};
use crossbeam::channel::{Receiver, Sender};
use minifb::{Key, MouseButton, MouseMode, Scale, ScaleMode, Window, WindowOptions};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the window tells the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UiEvent {
    Key(PcKey, bool),
    /// Relative motion and button state (bit 0 left, 1 right, 2 middle).
    Mouse(i32, i32, u8),
    TogglePause,
    Quit,
}

/// What the machine shows: the latest screen and a status line.
#[derive(Default)]
pub struct Shared {
    pub screen: Option<Frame>,
    pub status: String,
}

pub struct WindowHandle {
    pub shared: Arc<Mutex<Shared>>,
    pub events: Receiver<UiEvent>,
}

/// Opens the window on its own thread. Fails (with the reason) when no
/// display can be opened; the caller then runs headless.
pub fn open() -> Result<WindowHandle, String> {
    let shared = Arc::new(Mutex::new(Shared::default()));
    let (tx, rx) = crossbeam::channel::unbounded();
    let (ready_tx, ready_rx) = crossbeam::channel::bounded(1);
    let s = shared.clone();
    std::thread::Builder::new()
        .name("window".into())
        .spawn(move || window_thread(s, tx, ready_tx))
        .map_err(|e| e.to_string())?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(WindowHandle { shared, events: rx }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err("the window thread ended".into()),
    }
}

const GRAB_HINT: &str = "Ctrl+Alt+G grabs the mouse, Ctrl+Alt+P pauses";

fn window_thread(
    shared: Arc<Mutex<Shared>>,
    tx: Sender<UiEvent>,
    ready: Sender<Result<(), String>>,
) {
    let opts = WindowOptions {
        resize: true,
        scale: Scale::X1,
        scale_mode: ScaleMode::AspectRatioStretch,
        ..Default::default()
    };
    let mut win = match Window::new("crane86", 720, 400, opts) {
        Ok(w) => w,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    win.set_target_fps(60);
    let key_log = Arc::new(Mutex::new(Vec::new()));
    win.set_input_callback(Box::new(KeyLog(key_log.clone())));
    let (mut ctrl, mut alt) = (false, false);
    let mut screen = Frame {
        width: 720,
        height: 400,
        pixels: vec![0; 720 * 400],
    };
    let mut grabbed = false;
    let mut last_mouse: Option<(f32, f32)> = None;
    let mut last_title = String::new();
    while win.is_open() {
        let (new_screen, status) = {
            let mut g = shared.lock().unwrap_or_else(|p| p.into_inner());
            (g.screen.take(), g.status.clone())
        };
        if let Some(s) = new_screen {
            screen = s;
        }
        let title = format!(
            "crane86 — {status} — {}{GRAB_HINT}",
            if grabbed { "mouse grabbed — " } else { "" }
        );
        if title != last_title {
            win.set_title(&title);
            last_title = title;
        }
        // Key events in the order they happened (a press and release within
        // one frame, Shift before H), from minifb's input callback.
        let keys: Vec<(Key, bool)> =
            std::mem::take(&mut *key_log.lock().unwrap_or_else(|p| p.into_inner()));
        for (k, down) in keys {
            match k {
                Key::LeftCtrl | Key::RightCtrl => ctrl = down,
                Key::LeftAlt | Key::RightAlt => alt = down,
                _ => {}
            }
            if down && ctrl && alt && k == Key::G {
                grabbed = !grabbed;
                win.set_cursor_visibility(!grabbed);
                last_mouse = None;
                continue;
            }
            if down && ctrl && alt && k == Key::P {
                let _ = tx.send(UiEvent::TogglePause);
                continue;
            }
            if let Some(pc) = pc_key(k) {
                // Host key repeat arrives as repeated presses: typematic.
                let _ = tx.send(UiEvent::Key(pc, down));
            }
        }
        if grabbed {
            if let Some((x, y)) = win.get_mouse_pos(MouseMode::Pass) {
                let buttons = win.get_mouse_down(MouseButton::Left) as u8
                    | (win.get_mouse_down(MouseButton::Right) as u8) << 1
                    | (win.get_mouse_down(MouseButton::Middle) as u8) << 2;
                if let Some((lx, ly)) = last_mouse {
                    let (dx, dy) = ((x - lx) as i32, (y - ly) as i32);
                    if dx != 0 || dy != 0 {
                        let _ = tx.send(UiEvent::Mouse(dx, -dy, buttons));
                    }
                }
                last_mouse = Some((x, y));
            }
        }
        if win
            .update_with_buffer(
                &screen.pixels,
                screen.width as usize,
                screen.height as usize,
            )
            .is_err()
        {
            std::thread::sleep(Duration::from_millis(16));
        }
    }
    let _ = tx.send(UiEvent::Quit);
}

/// Records every key transition in order as minifb reports it.
struct KeyLog(Arc<Mutex<Vec<(Key, bool)>>>);

impl minifb::InputCallback for KeyLog {
    fn add_char(&mut self, _uni_char: u32) {}
    fn set_key_state(&mut self, key: Key, state: bool) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((key, state));
    }
}

/// Host key → PC key (the i8042 model makes scan code set 1 or 2 from it).
fn pc_key(k: Key) -> Option<PcKey> {
    use PcKey as P;
    Some(match k {
        Key::Key0 => P::Digit0,
        Key::Key1 => P::Digit1,
        Key::Key2 => P::Digit2,
        Key::Key3 => P::Digit3,
        Key::Key4 => P::Digit4,
        Key::Key5 => P::Digit5,
        Key::Key6 => P::Digit6,
        Key::Key7 => P::Digit7,
        Key::Key8 => P::Digit8,
        Key::Key9 => P::Digit9,
        Key::A => P::A,
        Key::B => P::B,
        Key::C => P::C,
        Key::D => P::D,
        Key::E => P::E,
        Key::F => P::F,
        Key::G => P::G,
        Key::H => P::H,
        Key::I => P::I,
        Key::J => P::J,
        Key::K => P::K,
        Key::L => P::L,
        Key::M => P::M,
        Key::N => P::N,
        Key::O => P::O,
        Key::P => P::P,
        Key::Q => P::Q,
        Key::R => P::R,
        Key::S => P::S,
        Key::T => P::T,
        Key::U => P::U,
        Key::V => P::V,
        Key::W => P::W,
        Key::X => P::X,
        Key::Y => P::Y,
        Key::Z => P::Z,
        Key::F1 => P::F1,
        Key::F2 => P::F2,
        Key::F3 => P::F3,
        Key::F4 => P::F4,
        Key::F5 => P::F5,
        Key::F6 => P::F6,
        Key::F7 => P::F7,
        Key::F8 => P::F8,
        Key::F9 => P::F9,
        Key::F10 => P::F10,
        Key::F11 => P::F11,
        Key::F12 => P::F12,
        Key::Down => P::ArrowDown,
        Key::Left => P::ArrowLeft,
        Key::Right => P::ArrowRight,
        Key::Up => P::ArrowUp,
        Key::Apostrophe => P::Quote,
        Key::Backquote => P::Backquote,
        Key::Backslash => P::Backslash,
        Key::Comma => P::Comma,
        Key::Equal => P::Equal,
        Key::LeftBracket => P::BracketLeft,
        Key::Minus => P::Minus,
        Key::Period => P::Period,
        Key::RightBracket => P::BracketRight,
        Key::Semicolon => P::Semicolon,
        Key::Slash => P::Slash,
        Key::Backspace => P::Backspace,
        Key::Delete => P::Delete,
        Key::End => P::End,
        Key::Enter => P::Enter,
        Key::Escape => P::Escape,
        Key::Home => P::Home,
        Key::Insert => P::Insert,
        Key::Menu => P::ContextMenu,
        Key::PageDown => P::PageDown,
        Key::PageUp => P::PageUp,
        Key::Pause => P::Pause,
        Key::Space => P::Space,
        Key::Tab => P::Tab,
        Key::NumLock => P::NumLock,
        Key::CapsLock => P::CapsLock,
        Key::ScrollLock => P::ScrollLock,
        Key::LeftShift => P::ShiftLeft,
        Key::RightShift => P::ShiftRight,
        Key::LeftCtrl => P::ControlLeft,
        Key::RightCtrl => P::ControlRight,
        Key::NumPad0 => P::Numpad0,
        Key::NumPad1 => P::Numpad1,
        Key::NumPad2 => P::Numpad2,
        Key::NumPad3 => P::Numpad3,
        Key::NumPad4 => P::Numpad4,
        Key::NumPad5 => P::Numpad5,
        Key::NumPad6 => P::Numpad6,
        Key::NumPad7 => P::Numpad7,
        Key::NumPad8 => P::Numpad8,
        Key::NumPad9 => P::Numpad9,
        Key::NumPadDot => P::NumpadDecimal,
        Key::NumPadSlash => P::NumpadDivide,
        Key::NumPadAsterisk => P::NumpadMultiply,
        Key::NumPadMinus => P::NumpadSubtract,
        Key::NumPadPlus => P::NumpadAdd,
        Key::NumPadEnter => P::NumpadEnter,
        Key::LeftAlt => P::AltLeft,
        Key::RightAlt => P::AltRight,
        Key::LeftSuper => P::MetaLeft,
        Key::RightSuper => P::MetaRight,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_digits_and_extended_keys_map() {
        assert_eq!(pc_key(Key::A), Some(PcKey::A));
        assert_eq!(pc_key(Key::Key0), Some(PcKey::Digit0));
        assert_eq!(pc_key(Key::Right), Some(PcKey::ArrowRight));
        assert_eq!(pc_key(Key::NumPadEnter), Some(PcKey::NumpadEnter));
        assert_eq!(pc_key(Key::RightCtrl), Some(PcKey::ControlRight));
    }
}
