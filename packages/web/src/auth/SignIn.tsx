import { useState, type FormEvent } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router';
import { signIn } from '../api/client.js';
import { Button, ErrorNotice, Notice, TextField } from '../ui/kit.js';
import { useSession } from '../ui/session.js';

/** Where each face starts. */
export const HOME = { product: '/cases', console: '/console/tenants' } as const;

/**
 * One sign-in for both faces: tenant users and operators use the same form; the token says which
 * face they get. A first sign-in with a temporary password asks for a new one, as the API requires.
 */
export function SignIn() {
  const session = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const next = new URLSearchParams(location.search).get('next');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const [needsNewPassword, setNeedsNewPassword] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const mismatch = needsNewPassword && confirmation !== '' && confirmation !== newPassword;

  if (session && !busy) return <Navigate to={safeNext(next) ?? HOME[session.face]} replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (mismatch) return;
    setBusy(true);
    setError(undefined);
    try {
      const result = await signIn(username.trim(), password, needsNewPassword ? newPassword : undefined);
      if (result.kind === 'new-password-required') {
        setNeedsNewPassword(true);
        setBusy(false);
        return;
      }
      navigate(safeNext(next) ?? HOME[result.session.face], { replace: true });
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  }

  return (
    <main id="main" className="sign-in">
      <form className="card sign-in-card" onSubmit={submit} aria-labelledby="sign-in-title" noValidate>
        <h1 id="sign-in-title">{needsNewPassword ? 'Choose your password' : 'Sign in to Cellbook'}</h1>
        {needsNewPassword ? (
          <Notice>This is your first sign-in: choose a password of your own (at least 12 characters, with upper and lower case letters and a digit).</Notice>
        ) : null}
        <ErrorNotice error={error} />
        <TextField
          label="Username or e-mail"
          name="username"
          autoComplete="username"
          value={username}
          onChange={(event) => setUsername(event.target.value)}
          required
          disabled={needsNewPassword}
        />
        <TextField
          label={needsNewPassword ? 'Temporary password' : 'Password'}
          name="password"
          type="password"
          autoComplete={needsNewPassword ? 'off' : 'current-password'}
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          required
          disabled={needsNewPassword}
        />
        {needsNewPassword ? (
          <>
            <TextField
              label="New password"
              name="new-password"
              type="password"
              autoComplete="new-password"
              value={newPassword}
              onChange={(event) => setNewPassword(event.target.value)}
              required
            />
            <TextField
              label="Repeat the new password"
              name="confirm-password"
              type="password"
              autoComplete="new-password"
              value={confirmation}
              onChange={(event) => setConfirmation(event.target.value)}
              problem={mismatch ? 'The two passwords differ.' : undefined}
              required
            />
          </>
        ) : null}
        <Button type="submit" busy={busy} disabled={!username || !password || (needsNewPassword && (!newPassword || mismatch))}>
          {needsNewPassword ? 'Set password and sign in' : 'Sign in'}
        </Button>
      </form>
    </main>
  );
}

/** Only an in-app path may be a destination after sign-in (no open redirect). */
function safeNext(next: string | null): string | undefined {
  return next?.startsWith('/') && !next.startsWith('//') ? next : undefined;
}
