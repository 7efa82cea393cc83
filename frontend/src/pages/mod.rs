pub mod accept_invitation;
pub mod account;
pub mod audit;
pub mod dashboard;
pub mod home;
pub mod not_found;
pub mod org_admin;
pub mod sign_in;
