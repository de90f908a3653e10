//! What a privacy officer works with: processors, the Processing Activity Log, data subjects,
//! settings, and the receiver's delivery log and dashboard figures.

pub mod activity;
pub mod dashboard;
pub mod deliveries;
pub mod processors;
pub mod settings;
pub mod subjects;
