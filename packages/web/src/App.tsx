import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { lazy, Suspense, type ReactNode } from 'react';
import { BrowserRouter, Navigate, Route, Routes, useLocation } from 'react-router';
import { ApiError } from './api/errors.js';
import { sessionStore, type Face, type Session } from './api/session.js';
import { HOME, SignIn } from './auth/SignIn.js';
import { Loading } from './ui/kit.js';
import { useSession } from './ui/session.js';

// Each face is its own chunk: a tenant's browser never downloads the operator console, and back.
const ProductApp = lazy(() => import('./product/ProductApp.js'));
const ConsoleApp = lazy(() => import('./console/ConsoleApp.js'));

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A client mistake or a refusal does not get better by asking again; a dropped connection or a
      // condition that passes by itself (503 with Retry-After) may.
      retry: (failures, error) => failures < 2 && (!(error instanceof ApiError) || error.status === 0 || error.status === 503),
      staleTime: 5_000,
      refetchOnWindowFocus: true,
    },
    mutations: { retry: false },
  },
});

// Another user's data must never show from the cache: signing out, or a different user signing in
// in the same tab, drops every cached answer (queries are keyed by route, not by user).
let cachedFor: string | undefined = identityOf(sessionStore.get());
sessionStore.subscribe((session) => {
  const identity = identityOf(session);
  if (identity === cachedFor) return;
  cachedFor = identity;
  queryClient.clear();
});

function identityOf(session: Session | undefined): string | undefined {
  return session ? `${session.tenantId ?? 'operator'}/${session.username}` : undefined;
}

/** Shows `children` to a signed-in user of `face`; sends anyone else where they belong. */
function RequireFace({ face, children }: { face: Face; children: ReactNode }) {
  const session = useSession();
  const location = useLocation();
  if (!session) return <Navigate to={`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  if (session.face !== face) return <Navigate to={HOME[session.face]} replace />;
  return <Suspense fallback={<Loading what="Cellbook" />}>{children}</Suspense>;
}

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <BrowserRouter basename="/app">
        <Routes>
          <Route path="/sign-in" element={<SignIn />} />
          <Route
            path="/console/*"
            element={
              <RequireFace face="console">
                <ConsoleApp />
              </RequireFace>
            }
          />
          <Route
            path="/*"
            element={
              <RequireFace face="product">
                <ProductApp />
              </RequireFace>
            }
          />
        </Routes>
      </BrowserRouter>
    </QueryClientProvider>
  );
}
