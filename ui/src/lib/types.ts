// The shapes the Rust commands send and receive, generated from the Rust types by ts-rs into
// ./bindings/ (one source of truth: never declare them by hand here).
//
// Status-like fields the UI compares with known values and shows anything else as-is
// (lib/format.ts `statusInfo`), so a new backend status never breaks a screen.

export type { Activity } from './bindings/Activity'
export type { ActivityDetail } from './bindings/ActivityDetail'
export type { ActivityPage } from './bindings/ActivityPage'
export type { ActivityQuery } from './bindings/ActivityQuery'
export type { AppInfo } from './bindings/AppInfo'
export type { Dashboard } from './bindings/Dashboard'
export type { DayCount } from './bindings/DayCount'
export type { Delivery } from './bindings/Delivery'
export type { EmailHistory } from './bindings/EmailHistory'
export type { ExternalId } from './bindings/ExternalId'
export type { OrgProfile } from './bindings/OrgProfile'
export type { Processor } from './bindings/Processor'
export type { ReceiverStatus } from './bindings/ReceiverStatus'
export type { Settings } from './bindings/Settings'
export type { Subject } from './bindings/Subject'
export type { SubjectPage } from './bindings/SubjectPage'
export type { TunnelStatus } from './bindings/TunnelStatus'

/** What `subject_detail` returns: the subject with its ids, email history and timeline (newest first). */
export type SubjectDetail = import('./bindings/SubjectPage').SubjectPage
