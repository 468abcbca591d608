// The accounts feature's public face: other folders import from here only.
export {
  createAccountsService,
  MIN_PASSWORD_LENGTH,
  type AccountChanges,
  type AccountListOptions,
  type AccountsActor,
  type AccountsService,
  type AccountView,
} from './accounts-service.js';
export { announceAccountChanges, applyAccountChanges } from './account-events.js';
export { removalCleanup, type BeforeRemoval, type RemovalCleanupDeps } from './removal-cleanup.js';
export {
  publishUserChange,
  USER_CHANGES_CHANNEL,
  watchUserChanges,
  type UserChange,
  type UserChangeKind,
} from './user-changes.js';
