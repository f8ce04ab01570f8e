using LogsMigration.Pipeline.Positions;

namespace LogsMigration.Pipeline.Streaming;

/// <summary>A resume point: the last sequence number a client saw, in the stream epoch it saw it in.</summary>
public sealed record ResumePoint(string Epoch, long Sequence);

/// <summary>What one client asks of a stream; nothing here is part of the stream key.</summary>
/// <param name="Tail">Lines of history before live lines.</param>
/// <param name="Follow">Keep streaming after the history.</param>
/// <param name="ResumeAfter">When set and still buffered, start right after this point instead of <paramref name="Tail"/>.</param>
/// <param name="Cursor">A portable resume point (a <c>cursor</c> field); exact after a teardown, a restart or on another instance.</param>
public sealed record SubscriptionRequest(int Tail, bool Follow = true, ResumePoint? ResumeAfter = null, ResumeCursor? Cursor = null);
