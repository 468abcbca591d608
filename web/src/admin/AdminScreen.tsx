import * as Tabs from '@radix-ui/react-tabs';
import { useLocation, useNavigate } from 'react-router';
import './admin.css';
import { AuditTab } from './AuditTab.tsx';
import { RolesTab } from './RolesTab.tsx';
import { ServersTab } from './ServersTab.tsx';
import { UsersTab } from './UsersTab.tsx';

const TABS = [
  { value: 'users', label: 'Users' },
  { value: 'roles', label: 'Roles' },
  { value: 'audit', label: 'Audit log' },
  { value: 'servers', label: 'Servers' },
] as const;

type TabValue = (typeof TABS)[number]['value'];

function isTab(value: string | undefined): value is TabValue {
  return TABS.some((tab) => tab.value === value);
}

/**
 * Admin: users and roles, the audit log, and every server's health with its shared authorization.
 * Each tab has its own address (`/admin/users`, `/admin/audit`…), so a tab can be linked and reloaded.
 */
export function AdminScreen() {
  const location = useLocation();
  const navigate = useNavigate();
  const segment = location.pathname.split('/')[2];
  const current: TabValue = isTab(segment) ? segment : 'users';

  return (
    <section aria-labelledby="screen-heading" className="ad-screen">
      <h1 id="screen-heading">Admin</h1>
      <Tabs.Root
        value={current}
        onValueChange={(value) => void navigate(`/admin/${value}`)}
        activationMode="manual"
      >
        <Tabs.List className="ad-tabs" aria-label="Admin sections">
          {TABS.map((tab) => (
            <Tabs.Trigger key={tab.value} value={tab.value} className="ad-tab">
              {tab.label}
            </Tabs.Trigger>
          ))}
        </Tabs.List>
        <Tabs.Content value="users" className="ad-panel">
          <UsersTab />
        </Tabs.Content>
        <Tabs.Content value="roles" className="ad-panel">
          <RolesTab />
        </Tabs.Content>
        <Tabs.Content value="audit" className="ad-panel">
          <AuditTab />
        </Tabs.Content>
        <Tabs.Content value="servers" className="ad-panel">
          <ServersTab />
        </Tabs.Content>
      </Tabs.Root>
    </section>
  );
}
