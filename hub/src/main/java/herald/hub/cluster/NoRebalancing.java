package herald.hub.cluster;

import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.cluster.sharding.ShardCoordinator;
import org.apache.pekko.dispatch.Futures;
import scala.collection.immutable.IndexedSeq;
import scala.concurrent.Future;

/**
 * Puts a new shard on the node that holds the fewest, and never moves a shard afterwards. Topic
 * owners keep their state in memory, so moving one to balance load would restart it empty (a new
 * epoch for every subscriber); nodes that join take new topics instead.
 */
final class NoRebalancing extends ShardCoordinator.AbstractShardAllocationStrategy {

    @Override
    public Future<ActorRef> allocateShard(ActorRef requester, String shardId,
                                          Map<ActorRef, IndexedSeq<String>> currentShardAllocations) {
        ActorRef least = requester;
        int fewest = Integer.MAX_VALUE;
        for (Map.Entry<ActorRef, IndexedSeq<String>> region : currentShardAllocations.entrySet()) {
            if (region.getValue().size() < fewest) {
                fewest = region.getValue().size();
                least = region.getKey();
            }
        }
        return Futures.successful(least);
    }

    @Override
    public Future<Set<String>> rebalance(Map<ActorRef, IndexedSeq<String>> currentShardAllocations,
                                         Set<String> rebalanceInProgress) {
        return Futures.successful(Set.of());
    }
}
