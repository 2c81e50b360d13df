package io.quorumlab.mvcc;

import static org.junit.jupiter.api.Assertions.*;

import io.quorumlab.mvcc.api.*;
import io.quorumlab.mvcc.backend.InMemoryBackend;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What kube-apiserver's storage layer does to etcd (KUBE.md), step by step. */
class KubePatternsTest {
    static byte[] b(String s) { return Bytes.of(s); }

    long index;
    final MvccStore s = new MvccStore(new InMemoryBackend(), TestStores.noSyncThread());

    Response apply(Request r) { return s.apply(++index, r); }

    static Compare modRev(String key, long rev) { return Compare.number(b(key), Compare.Target.MOD, Compare.Result.EQUAL, rev); }

    TxnResponse create(String key, String value, long lease) {
        return (TxnResponse) apply(new TxnRequest(List.of(modRev(key, 0)), List.of(new PutRequest(b(key), b(value), lease, false, false, false)),
                List.of()));
    }

    TxnResponse update(String key, long expectRev, String value) {
        return (TxnResponse) apply(new TxnRequest(List.of(modRev(key, expectRev)), List.of(PutRequest.of(key, value)),
                List.of(RangeRequest.key(b(key)))));
    }

    TxnResponse delete(String key, long expectRev) {
        return (TxnResponse) apply(new TxnRequest(List.of(modRev(key, expectRev)), List.of(DeleteRangeRequest.key(b(key))),
                List.of(RangeRequest.key(b(key)))));
    }

    @Test
    void guaranteedUpdateListWatchAndCompaction() {
        WatchStream ws = s.watchHub().newStream();
        long start = s.currentRevision();
        ws.watch(new WatchCreateRequest(b("/registry/pods/"), Bytes.prefixEnd(b("/registry/pods/")), start + 1, true, false, false,
                true, 0, false));

        // Create: If(mod_revision == 0) Then(Put). The nested put response carries a header revision.
        TxnResponse c = create("/registry/pods/ns/a", "v1", 0);
        assertTrue(c.succeeded());
        long aRev = c.responses().get(0).header().revision();
        assertEquals(c.header().revision(), aRev);
        assertFalse(create("/registry/pods/ns/a", "again", 0).succeeded(), "second create conflicts");
        for (int i = 0; i < 25; i++) create("/registry/pods/ns/p" + i, "x", 0);

        // Update with a stale revision fails and returns the current object in the else branch.
        TxnResponse stale = update("/registry/pods/ns/a", aRev - 1, "v2");
        assertFalse(stale.succeeded());
        RangeResponse current = (RangeResponse) stale.responses().get(0);
        assertEquals(aRev, current.kvs().get(0).modRevision());
        assertTrue(update("/registry/pods/ns/a", aRev, "v2").succeeded());

        // Paged list: limit 10, later pages pinned to the first page's revision, from lastKey + "\0"; count is exact.
        RangeRequest first = RangeRequest.builder(b("/registry/pods/")).prefix().limit(10).build();
        RangeResponse page = s.range(first);
        long listRev = page.header().revision();
        List<String> keys = new ArrayList<>();
        while (true) {
            page.kvs().forEach(kv -> keys.add(new String(kv.key())));
            assertEquals(26 - (keys.size() - page.kvs().size()), page.count(), "count counts the rest of the range");
            if (!page.more()) break;
            create("/registry/pods/ns/zz-late-" + keys.size(), "x", 0); // writes between pages must not leak in
            byte[] last = page.kvs().get(page.kvs().size() - 1).key();
            byte[] next = java.util.Arrays.copyOf(last, last.length + 1);
            page = s.range(RangeRequest.builder(next).rangeEnd(Bytes.prefixEnd(b("/registry/pods/"))).limit(10).revision(listRev).build());
        }
        assertEquals(26, keys.size());

        // Delete with precondition; the watch sees prev_kv on the update and on the delete.
        long aNow = s.range(RangeRequest.key(b("/registry/pods/ns/a"))).kvs().get(0).modRevision();
        assertTrue(delete("/registry/pods/ns/a", aNow).succeeded());

        // Events lease: one lease shared by many objects; expiry (a revoke) deletes them in one revision.
        apply(new LeaseGrantRequest(3600, 77));
        for (int i = 0; i < 5; i++) create("/registry/events/ns/e" + i, "ev", 77);
        long before = s.currentRevision();
        apply(new LeaseRevokeRequest(77));
        assertEquals(before + 1, s.currentRevision());
        assertEquals(0, s.range(RangeRequest.builder(b("/registry/events/")).prefix().countOnly(true).build()).count());

        // Compaction: If(version(compact_rev_key) == t) Then(Put(compact_rev_key, rev)) Else(Range), then Compact(prev).
        TxnResponse ck = (TxnResponse) apply(new TxnRequest(
                List.of(Compare.number(b("compact_rev_key"), Compare.Target.VERSION, Compare.Result.EQUAL, 0)),
                List.of(PutRequest.of("compact_rev_key", "" + s.currentRevision())), List.of(RangeRequest.key(b("compact_rev_key")))));
        assertTrue(ck.succeeded());
        long compactTo = s.currentRevision() - 3;
        apply(new CompactionRequest(compactTo, false));
        assertEquals(ErrorCode.COMPACTED, assertThrows(MvccException.class, () -> s.range(RangeRequest.builder(b("/registry/"))
                .prefix().revision(compactTo - 1).build())).code());

        // The watcher got every change with prev_kv on updates and deletes, then a progress answer.
        List<Event> events = new ArrayList<>();
        for (WatchResponse r : ws.drain()) events.addAll(r.events());
        Event upd = events.stream().filter(e -> e.type() == Event.Type.PUT && e.kv().version() == 2).findFirst().orElseThrow();
        assertEquals("v1", new String(upd.prevKv().value()));
        Event del = events.stream().filter(e -> e.type() == Event.Type.DELETE).findFirst().orElseThrow();
        assertEquals("v2", new String(del.prevKv().value()));
        ws.requestProgress();
        WatchResponse progress = ws.poll();
        assertEquals(WatchResponse.STREAM_PROGRESS_ID, progress.watchId());
        assertEquals(s.currentRevision(), progress.revision());
        s.close();
    }
}
