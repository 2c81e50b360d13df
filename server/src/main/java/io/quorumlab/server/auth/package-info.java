/**
 * etcd 3.4-compatible authentication and authorization (users, roles, key permissions, simple tokens):
 * the self-contained core, step 1 of /work/notes/s9/auth-design.md. <b>Not wired into the member yet</b>:
 * no gRPC Auth service is mounted, no request carries a user, nothing is checked, and {@code Member} never
 * builds an {@link io.quorumlab.server.auth.AuthStore}; a running server therefore behaves as an etcd with
 * auth disabled that also refuses the Auth RPCs (UNIMPLEMENTED).
 *
 * <ul>
 *   <li>{@link io.quorumlab.server.auth.AuthStore}: every Auth operation as etcd's apply runs it (admin check,
 *       errors, auth-revision bumps, root rules), the permission checks of etcd's API layer and applier
 *       (range/put/delete/txn incl. nested txns, lease keys, admin in mapped and raw form), bcrypt
 *       password hashing and checking ({@code $2a$}, BouncyCastle), persistence in the backend's AUTH,
 *       AUTH_USERS and AUTH_ROLES buckets in etcd's protobuf formats, and {@code recover()}.</li>
 *   <li>{@link io.quorumlab.server.auth.AuthState}: one immutable version of users, roles, flag, revision and
 *       the {@code PermCache} (etcd's interval semantics), published through one volatile field.</li>
 *   <li>{@link io.quorumlab.server.auth.SimpleTokens}: {@code <16 letters>.<raft index>} tokens with a sliding
 *       TTL on an injected clock; {@code sweep(now)} is for a timer the member does not schedule yet.</li>
 *   <li>{@link io.quorumlab.server.auth.AuthRequest} / {@link io.quorumlab.server.auth.AuthRequestCodec}: the
 *       Raft entry payload (etcd 3.5's internal layout, password hashes only), not yet in any entry.</li>
 *   <li>{@link io.quorumlab.server.auth.AuthError} / {@link io.quorumlab.server.auth.AuthException}: each error's
 *       gRPC code and {@code etcdserver:} text plus the raw {@code auth:} text; {@code GrpcErrors} does not map
 *       them yet.</li>
 * </ul>
 *
 * <p>Still to do (design §5.2-5.5): the entry envelope carrying user and auth revision, apply-time checks and
 * auth entries in {@code Member} (with {@code recover()} next to every membership load), the Auth gRPC
 * service, token resolution and read/watch/maintenance/cluster checks in the API layer, the
 * {@code --auth-token-ttl} flag and the auth-revision gauge.
 */
package io.quorumlab.server.auth;
