// The shell: sign-in until a token is accepted, then the navigation and the page of the route.
import { useMemo, useState } from 'preact/hooks';
import { Api } from './api.js';
import { ClustersPage } from './pages/clusters.js';
import { CodePage } from './pages/code.js';
import { CodesPage } from './pages/codes.js';
import { SchedulesPage } from './pages/schedules.js';
import { SignIn } from './pages/sign-in.js';
import { TaskPage } from './pages/task.js';
import { TasksPage } from './pages/tasks.js';
import { useRoute, type Route } from './route.js';
import { clearSession, loadSession, saveSession, type Session } from './session.js';

export function App() {
  const [session, setSession] = useState<Session | undefined>(loadSession);
  const api = useMemo(() => (session === undefined ? undefined : new Api(session.token, session.projectId)), [session]);
  const route = useRoute();
  if (session === undefined || api === undefined) {
    return (
      <SignIn
        onSignedIn={(s) => {
          saveSession(s);
          setSession(s);
        }}
      />
    );
  }
  const signOut = (): void => {
    clearSession();
    setSession(undefined);
  };
  return (
    <>
      <header class="top">
        <span class="brand">iron HUD</span>
        <nav aria-label="Main">
          <NavLink to="#/tasks" label="Tasks" on={route.page === 'tasks' || route.page === 'task'} />
          <NavLink to="#/codes" label="Codes" on={route.page === 'codes' || route.page === 'code'} />
          <NavLink to="#/schedules" label="Schedules" on={route.page === 'schedules'} />
          <NavLink to="#/clusters" label="Clusters" on={route.page === 'clusters'} />
        </nav>
        <span class="project" title={session.projectId}>
          {session.projectName}
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        <Page route={route} api={api} />
      </main>
    </>
  );
}

function NavLink({ to, label, on }: { to: string; label: string; on: boolean }) {
  return (
    <a href={to} aria-current={on ? 'page' : undefined}>
      {label}
    </a>
  );
}

function Page({ route, api }: { route: Route; api: Api }) {
  switch (route.page) {
    case 'tasks':
      return <TasksPage api={api} />;
    case 'task':
      return <TaskPage key={route.id} api={api} id={route.id} />;
    case 'codes':
      return <CodesPage api={api} />;
    case 'code':
      return <CodePage key={route.id} api={api} id={route.id} />;
    case 'schedules':
      return <SchedulesPage api={api} />;
    case 'clusters':
      return <ClustersPage api={api} />;
  }
}
