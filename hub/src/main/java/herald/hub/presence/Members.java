package herald.hub.presence;

import herald.protocol.Change;
import herald.protocol.Op;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Who is in one presence topic (PROTOCOL.md 9.4), as its owner keeps it: every member, by session,
 * with the node's relay ({@code holder}) that announced it. The owner turns what this answers into
 * the topic's changes, so that a presence topic is numbered, replicated and resumed like any other.
 *
 * <p>At most {@code maxListed} members are listed (are entries); the rest wait, counted, in the order
 * they came, and the first of them is listed when a listed one leaves. A holder that is gone (its
 * node was lost, its actor failed) takes its members with it.
 *
 * @param <H> the holders' type: relays' refs in the hub, anything comparable by equality in tests
 */
public final class Members<H> {
    private record Member<H>(H holder, String data, boolean listed) {
    }

    /** The data of a new or updated member, as its holder announced it. */
    public record Announced(String session, String data) {
    }

    private final String topic;
    private final int maxListed;
    private final Map<String, Member<H>> members = new HashMap<>();
    /** Members beyond maxListed, oldest first: the next to be listed. */
    private final LinkedHashMap<String, Member<H>> waiting = new LinkedHashMap<>();
    private final Map<H, Set<String>> byHolder = new HashMap<>();
    private int listed;

    public Members(String topic, int maxListed) {
        this.topic = topic;
        this.maxListed = maxListed;
    }

    /** Whether this holder has announced members that are still here. */
    public boolean holds(H holder) {
        return byHolder.containsKey(holder);
    }

    /** Members listed and waiting. */
    public int count() {
        return members.size();
    }

    public boolean isEmpty() {
        return members.isEmpty();
    }

    /** A connection subscribed (or its data changed): the changes that list it, if any. */
    public List<Change> joined(H holder, String session, String data) {
        List<Change> changes = new ArrayList<>(1);
        join(holder, session, data, changes);
        return changes;
    }

    /** A connection left the topic: its delete, and the set of the member listed in its place. */
    public List<Change> left(H holder, String session) {
        List<Change> changes = new ArrayList<>(2);
        Member<H> member = members.get(session);
        if (member != null && member.holder().equals(holder)) {
            leave(session, changes);
        }
        return changes;
    }

    /** All of a holder's members, announced again (the owner is new): the ones missing leave, the others join. */
    public List<Change> replaced(H holder, List<Announced> announced) {
        List<Change> changes = new ArrayList<>();
        Set<String> now = new HashSet<>();
        announced.forEach(a -> now.add(a.session()));
        for (String session : List.copyOf(byHolder.getOrDefault(holder, Set.of()))) {
            if (!now.contains(session)) {
                leave(session, changes);
            }
        }
        announced.forEach(a -> join(holder, a.session(), a.data(), changes));
        return changes;
    }

    /** The holder is gone, and with it every member it announced. */
    public List<Change> holderGone(H holder) {
        List<Change> changes = new ArrayList<>();
        for (String session : List.copyOf(byHolder.getOrDefault(holder, Set.of()))) {
            leave(session, changes);
        }
        return changes;
    }

    private void join(H holder, String session, String data, List<Change> changes) {
        Member<H> old = members.get(session);
        if (old != null && old.holder().equals(holder) && old.data().equals(data)) {
            return;
        }
        if (old != null) {
            forgetHolder(old.holder(), session);
        }
        boolean list = old != null ? old.listed() : listed < maxListed;
        Member<H> member = new Member<>(holder, data, list);
        members.put(session, member);
        byHolder.computeIfAbsent(holder, h -> new HashSet<>()).add(session);
        if (list) {
            if (old == null) {
                listed++;
            }
            changes.add(set(session, data));
        } else {
            waiting.put(session, member);
        }
    }

    private void leave(String session, List<Change> changes) {
        Member<H> member = members.remove(session);
        forgetHolder(member.holder(), session);
        if (!member.listed()) {
            waiting.remove(session);
            return;
        }
        listed--;
        changes.add(new Change(topic, Op.DELETE, session, "left", null, null, null));
        Iterator<Map.Entry<String, Member<H>>> next = waiting.entrySet().iterator();
        if (next.hasNext()) {
            Map.Entry<String, Member<H>> first = next.next();
            next.remove();
            Member<H> promoted = new Member<>(first.getValue().holder(), first.getValue().data(), true);
            members.put(first.getKey(), promoted);
            listed++;
            changes.add(set(first.getKey(), promoted.data()));
        }
    }

    private void forgetHolder(H holder, String session) {
        Set<String> sessions = byHolder.get(holder);
        if (sessions != null && sessions.remove(session) && sessions.isEmpty()) {
            byHolder.remove(holder);
        }
    }

    private Change set(String session, String data) {
        return new Change(topic, Op.SET, session, "joined", data, null, null);
    }
}
