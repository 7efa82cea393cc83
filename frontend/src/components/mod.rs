pub mod layout;
pub mod require_sign_in;
