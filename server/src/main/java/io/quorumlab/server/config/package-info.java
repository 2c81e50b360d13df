/**
 * The member's configuration, read exactly as etcd reads its own: {@link io.quorumlab.server.config.ServerConfig}
 * is the result, {@link io.quorumlab.server.config.ServerConfig#parse} the entry point and
 * {@link io.quorumlab.server.config.ConfigException} the only failure.
 *
 * <p>Where quorumlab knowingly differs from etcd 3.4.23 (checked against the binary):
 * <ul>
 *   <li>An {@code ETCD_*} variable shadowed by the same command-line flag only warns; etcd 3.4 exits.</li>
 *   <li>{@code --pre-vote} defaults to true (etcd 3.5+), {@code --logger} to zap (etcd 3.5+).</li>
 *   <li>{@code --initial-cluster} is derived from {@code --name} and {@code --initial-advertise-peer-urls}
 *       whenever it is not given; etcd derives it only when the name is not "default".</li>
 *   <li>The YAML file is read leniently: numbers for string keys, quoted booleans and numbers, Go duration
 *       strings (etcd wants nanosecond integers there) and YAML sequences for list keys are accepted;
 *       unknown keys warn instead of being silently dropped.</li>
 *   <li>etcd options quorumlab has no use for ({@code --enable-v2}, {@code --discovery*}, {@code --cors}...)
 *       are accepted with a warning instead of being acted on.</li>
 *   <li>The advertise/initial-cluster URL match is checked without DNS: a mismatch between IP literals is
 *       an error (as in etcd), one involving host names only warns.</li>
 * </ul>
 */
package io.quorumlab.server.config;
