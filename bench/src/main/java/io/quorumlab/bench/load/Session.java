package io.quorumlab.bench.load;

import io.grpc.ManagedChannel;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What a workload sees of a run: its configuration, connections, clock and series. */
public final class Session {
    private final LoadConfig config;
    private final Connections connections;
    private final Clock clock;
    private final Map<String, Series> series = new LinkedHashMap<>();

    Session(LoadConfig config, Connections connections, Clock clock, List<String> names) {
        this.config = config;
        this.connections = connections;
        this.clock = clock;
        for (String n : names) {
            if (series.put(n, new Series(n)) != null) throw new IllegalArgumentException("duplicate series " + n);
        }
    }

    public LoadConfig config() {
        return config;
    }

    public ManagedChannel channel(int client) {
        return connections.forClient(client);
    }

    public int channels() {
        return connections.size();
    }

    public Clock clock() {
        return clock;
    }

    public Series series(String name) {
        Series s = series.get(name);
        if (s == null) throw new IllegalArgumentException("no series " + name);
        return s;
    }

    List<Series> allSeries() {
        return List.copyOf(series.values());
    }
}
