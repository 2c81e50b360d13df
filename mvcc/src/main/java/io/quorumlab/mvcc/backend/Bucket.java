package io.quorumlab.mvcc.backend;

/**
 * The backend's tables, as in etcd: revisions, metadata (consistent index, compaction), leases, alarms,
 * and the auth store's flag and revision, users and roles (server.auth). New tables go at the end only:
 * snapshots tag records by ordinal, and LMDB opens (creating if absent) one named table per constant.
 */
public enum Bucket { KEY, META, LEASE, ALARM, AUTH, AUTH_USERS, AUTH_ROLES }
