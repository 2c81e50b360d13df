/**
 * The client-facing etcd v3 API of a member: what etcdctl, clientv3, jetcd and kube-apiserver
 * talk to. Built on {@link io.quorumlab.server.member.MemberApi} (propose, read barrier, lease
 * keep-alive, status) and the member's {@link io.quorumlab.mvcc.MvccStore} (local reads, watch).
 *
 * <ul>
 *   <li>{@link io.quorumlab.server.api.ClientServer}: the one public entry point; gRPC and HTTP/1.1
 *       on one port ({@code PortSharing} sniffs the HTTP/2 preface).</li>
 *   <li>{@code KvService}, {@code WatchService}, {@code LeaseService}, {@code MaintenanceService},
 *       {@code HealthService}: etcdserverpb.KV/Watch/Lease/Maintenance and grpc.health.v1.</li>
 *   <li>{@code ProtoMapper}: jetcd-grpc protobuf messages to mvcc records and back; fields missing
 *       from jetcd's trimmed rpc.proto travel as protobuf unknown fields.</li>
 *   <li>{@code GrpcErrors}: etcd's status codes and exact messages.</li>
 *   <li>{@code HttpEndpoints}: GET /health, /version, /metrics.</li>
 * </ul>
 *
 * <p>Tests ({@code src/test/.../api}) run every service over a real socket against a fake
 * single-member cluster, with grpc-java stubs and with etcd's own etcdctl when installed.
 */
package io.quorumlab.server.api;
