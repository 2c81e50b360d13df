package io.quorumlab.mvcc.backend;

/** The backend's tables, as in etcd: revisions, metadata (consistent index, compaction), leases, alarms. */
public enum Bucket { KEY, META, LEASE, ALARM }
