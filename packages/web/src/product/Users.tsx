import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../api/client.js';
import { Badge, Button, ErrorNotice, formatDateTime, Loading, Notice, Page, SelectField, TextField } from '../ui/kit.js';
import { useSession } from '../ui/session.js';
import { useScope } from './common.js';
import type { InvitedUser, PasswordReset, Role, UserView } from './types.js';

const ROLE_OPTIONS = [
  { value: 'user', label: 'User' },
  { value: 'admin', label: 'Administrator' },
];

/** A temporary password the API answered (locally only: in AWS it goes out by e-mail). */
function TemporaryPassword({ who, password }: { who: string; password: string }) {
  return (
    <Notice tone="success">
      Temporary password for {who}: <code className="temporary-password">{password}</code>. Copy it now and give it to them: it is not shown again, and they choose their own
      password at their first sign-in.
    </Notice>
  );
}

/** Tenant admins: the organisation's users, invitations, roles, password resets and removal. */
export function Users() {
  const scope = useScope();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('user');
  const users = useQuery({ queryKey: [...scope, 'users'], queryFn: ({ signal }) => api<{ items: UserView[] }>('GET', '/users', { signal }) });
  const invite = useMutation({
    mutationFn: () => api<InvitedUser>('POST', '/users', { body: { email: email.trim(), role } }),
    onSuccess: () => {
      setEmail('');
      void queryClient.invalidateQueries({ queryKey: [...scope, 'users'] });
      void queryClient.invalidateQueries({ queryKey: [...scope, 'usage'] });
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    invite.mutate();
  }
  return (
    <Page title="Users">
      <section className="card" aria-labelledby="invite-title">
        <h2 id="invite-title">Invite a user</h2>
        <form className="inline-form" onSubmit={submit}>
          <TextField label="E-mail" name="email" type="email" autoComplete="off" value={email} onChange={(event) => setEmail(event.target.value)} required />
          <SelectField label="Role" name="role" value={role} onChange={(event) => setRole(event.target.value as Role)} options={ROLE_OPTIONS} />
          <Button type="submit" busy={invite.isPending} disabled={email.trim() === ''}>
            Invite
          </Button>
        </form>
        <ErrorNotice error={invite.error} title="The invitation was not sent." />
        {invite.data ? (
          invite.data.temporaryPassword ? (
            <TemporaryPassword who={invite.data.email} password={invite.data.temporaryPassword} />
          ) : (
            <Notice tone="success">{invite.data.email} is invited: they receive a temporary password by e-mail.</Notice>
          )
        ) : null}
      </section>
      <ErrorNotice error={users.error} />
      {users.isPending ? <Loading what="users" /> : null}
      {users.data ? (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Users of your organisation</caption>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Role</th>
                <th scope="col">Since</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.data.items.map((user) => (
                <UserRow key={user.username} user={user} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Page>
  );
}

function UserRow({ user }: { user: UserView }) {
  const scope = useScope();
  const session = useSession();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState<'reset' | 'remove'>();
  // Which confirm step was cancelled last: its trigger gets the focus back.
  const [cancelled, setCancelled] = useState<'reset' | 'remove'>();
  const cancel = (step: 'reset' | 'remove') => {
    setConfirming(undefined);
    setCancelled(step);
  };
  const path = `/users/${encodeURIComponent(user.username)}`;
  const refresh = () => queryClient.invalidateQueries({ queryKey: [...scope, 'users'] });
  const changeRole = useMutation({ mutationFn: (next: Role) => api<UserView>('PATCH', path, { body: { role: next } }), onSuccess: refresh });
  const reset = useMutation({ mutationFn: () => api<PasswordReset>('POST', `${path}/reset-password`) });
  const signOut = useMutation({ mutationFn: () => api<void>('POST', `${path}/sign-out`) });
  const remove = useMutation({ mutationFn: () => api<void>('DELETE', path), onSuccess: refresh });
  const self = session?.username.toLowerCase() === user.username.toLowerCase();
  const otherRole: Role = user.role === 'admin' ? 'user' : 'admin';
  return (
    <tr>
      <th scope="row">
        {user.email}
        {self ? ' (you)' : ''}
      </th>
      <td>
        <Badge tone={user.role === 'admin' ? 'info' : 'neutral'}>{user.role === 'admin' ? 'Administrator' : 'User'}</Badge>
      </td>
      <td>{formatDateTime(user.createdAt)}</td>
      <td>
        {self ? (
          <span>Your own account</span>
        ) : (
          <div className="inline-form">
            <Button
              variant="secondary"
              busy={changeRole.isPending}
              onClick={() => changeRole.mutate(otherRole)}
              aria-label={`${otherRole === 'admin' ? 'Make administrator' : 'Make user'}: ${user.email}`}
            >
              {otherRole === 'admin' ? 'Make administrator' : 'Make user'}
            </Button>
            {confirming === 'reset' ? (
              <>
                {/* The confirm step takes the focus (the button that opened it is gone); cancelling gives it back. */}
                <Button variant="danger" busy={reset.isPending} onClick={() => reset.mutate(undefined, { onSettled: () => setConfirming(undefined) })} autoFocus>
                  Yes, reset the password of {user.email}
                </Button>
                <Button variant="secondary" onClick={() => cancel('reset')}>
                  Keep the password
                </Button>
              </>
            ) : (
              <Button variant="secondary" onClick={() => setConfirming('reset')} aria-label={`Reset password: ${user.email}`} autoFocus={cancelled === 'reset'}>
                Reset password
              </Button>
            )}
            <Button variant="secondary" busy={signOut.isPending} onClick={() => signOut.mutate()} aria-label={`Sign out everywhere: ${user.email}`}>
              Sign out everywhere
            </Button>
            {confirming === 'remove' ? (
              <>
                <Button variant="danger" busy={remove.isPending} onClick={() => remove.mutate()} autoFocus>
                  Yes, remove {user.email}
                </Button>
                <Button variant="secondary" onClick={() => cancel('remove')}>
                  Keep
                </Button>
              </>
            ) : (
              <Button variant="danger" onClick={() => setConfirming('remove')} aria-label={`Remove: ${user.email}`} autoFocus={cancelled === 'remove'}>
                Remove
              </Button>
            )}
          </div>
        )}
        <ErrorNotice error={changeRole.error ?? reset.error ?? signOut.error ?? remove.error} />
        {reset.data?.temporaryPassword ? <TemporaryPassword who={user.email} password={reset.data.temporaryPassword} /> : null}
        {reset.data && !reset.data.temporaryPassword ? <Notice tone="success">A new temporary password was sent to {user.email}.</Notice> : null}
        {signOut.isSuccess ? <Notice tone="success">{user.email} is signed out on every device.</Notice> : null}
      </td>
    </tr>
  );
}
