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
export type { ActivityFields } from './bindings/ActivityFields'
export type { ChecklistItem } from './bindings/ChecklistItem'
export type { Format } from './bindings/Format'
export type { Gap } from './bindings/Gap'
export type { ProcessingActivity } from './bindings/ProcessingActivity'
export type { ProcessorDetails } from './bindings/ProcessorDetails'
export type { Ropa } from './bindings/Ropa'
export type { RopaProcessor } from './bindings/RopaProcessor'
export type { ReceiverStatus } from './bindings/ReceiverStatus'
export type { Settings } from './bindings/Settings'
export type { Subject } from './bindings/Subject'
export type { SubjectPage } from './bindings/SubjectPage'
export type { TunnelStatus } from './bindings/TunnelStatus'
export type { BackfillProgress } from './bindings/BackfillProgress'
export type { BackfillReport } from './bindings/BackfillReport'
export type { CatchUpStatus } from './bindings/CatchUpStatus'
export type { Check } from './bindings/Check'
export type { Counts } from './bindings/Counts'
export type { KeySet } from './bindings/KeySet'
export type { Permission } from './bindings/Permission'
export type { Registration } from './bindings/Registration'
export type { ResourceReport } from './bindings/ResourceReport'
export type { TunnelInfo } from './bindings/TunnelInfo'
export type { Workflow } from './bindings/Workflow'

/** What `subject_detail` returns: the subject with its ids, email history and timeline (newest first). */
export type SubjectDetail = import('./bindings/SubjectPage').SubjectPage
