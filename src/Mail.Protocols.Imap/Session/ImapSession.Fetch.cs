using System.Buffers;
using Mail.Protocols.Imap.Fetch;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Storage;
using Mail.Protocols.Text;

namespace Mail.Protocols.Imap.Session;

// FETCH and UID FETCH (RFC 9051 §6.4.5, RFC 7162 CHANGEDSINCE and VANISHED): the messages are taken from the store in
// batches and each response is written (and flushed as it grows) before the next batch is asked for, so a FETCH of a
// whole folder holds one batch, not the folder.
internal sealed partial class ImapSession
{
    private const int FetchBatchSize = 256;

    // A FETCH of at most 1/16 of the folder asks the store for those messages only.
    private const int FewMessagesDivisor = 16;

    private ValueTask<bool> FetchAsync(ref ImapReader reader, bool byUid)
    {
        reader.ReadSpace("Missing sequence set");
        var set = reader.ReadSequenceSet();
        reader.ReadSpace("Missing fetch items");
        var request = FetchParser.Read(ref reader, byUid, _qresync);
        reader.ReadEnd();
        if (!byUid && !SequenceNumbersValid(set))
        {
            RejectSyntax("Invalid message sequence number");
            return Continue();
        }
        return FetchAsync(set, request, byUid);
    }

    private async ValueTask<bool> FetchAsync(SequenceSet set, FetchRequest request, bool byUid)
    {
        var selected = Selected;
        if (request.UsesCondStore)
        {
            _condStore = true; // RFC 7162 §3.1: a FETCH of MODSEQ or with CHANGEDSINCE enables CONDSTORE
        }
        var uids = ResolveUids(set, byUid);
        if (request.Vanished && request.ChangedSince is { } since)
        {
            await WriteVanishedEarlierAsync(selected, set, since).ConfigureAwait(false);
        }
        // FLAGS and MODSEQ of a message whose \Seen this FETCH sets are reported even when not asked for (RFC 9051 §6.4.5).
        var setSeen = request.SetsSeen && !selected.ReadOnly;
        FetchRequest? withFlags = null;
        var missing = false;
        var unknownEncoding = false;
        MessageInfoLookup? infos = null;
        // Without summary items, one listing of the folder gives every message's flags, date and size (found in it by UID,
        // nothing copied); for a few messages of a large folder (a client downloading one body), asking for just those costs
        // less, in a store whose listing copies the folder.
        if ((request.Needs & FetchNeeds.Summary) == 0 && uids.Count > selected.Count / FewMessagesDivisor)
        {
            infos = new MessageInfoLookup(await Store.ListMessagesAsync(Login, selected.Name, Connection.Aborted).ConfigureAwait(false));
        }
        for (var start = 0; start < uids.Count; start += FetchBatchSize)
        {
            var batch = uids.GetRange(start, Math.Min(FetchBatchSize, uids.Count - start));
            var entries = infos is null
                ? (await Store.GetSummariesAsync(Login, selected.Name, batch, Connection.Aborted).ConfigureAwait(false)).ToDictionary(e => e.Info.Uid)
                : null;
            Dictionary<uint, MessageInfo>? seenNow = null;
            if (setSeen)
            {
                var unseen = batch.Where(uid => Info(uid) is { } info && (info.Flags & MessageFlags.Seen) == 0).ToList();
                if (unseen.Count > 0)
                {
                    var updated = await Store.UpdateFlagsAsync(Login, selected.Name, unseen, new FlagChange(FlagChangeMode.Add, MessageFlags.Seen),
                        session: _subscription, cancellationToken: Connection.Aborted).ConfigureAwait(false);
                    seenNow = updated.Updated.ToDictionary(m => m.Uid);
                }
            }
            foreach (var uid in batch)
            {
                var info = seenNow is not null && seenNow.TryGetValue(uid, out var changed) ? changed : Info(uid);
                if (info is null)
                {
                    missing = true; // expunged by another session; its number stays until the EXPUNGE is reported
                    continue;
                }
                if (!request.Selects(info.ModSeq))
                {
                    continue;
                }
                var sequence = (uint)selected.SequenceOf(uid);
                var seen = seenNow is not null && seenNow.ContainsKey(uid);
                var effective = seen ? withFlags ??= request.WithFlags() : request;
                // The content is opened before the response starts: a message expunged since the listing is then skipped
                // like one the listing missed, instead of failing after its literal was announced.
                // A header the summary holds is written from it: only the content of other sections is opened.
                var summary = entries?[uid].Summary;
                var content = new PreopenedContent(Store, Login, selected.Name, uid);
                await using var disposeContent = content.ConfigureAwait(false);
                if (effective.NeedsContent(summary) && !await content.TryOpenAsync(Connection.Aborted).ConfigureAwait(false))
                {
                    missing = true;
                    continue;
                }
                var outcome = await WriteFetchAsync(sequence, info, summary, effective, content).ConfigureAwait(false);
                if (outcome == FetchOutcome.OutputCompleted)
                {
                    return false;
                }
                if (outcome == FetchOutcome.UnknownTransferEncoding)
                {
                    unknownEncoding = true;
                }
                if (seen && !ReportsFlagChange(effective))
                {
                    WriteFlagsUpdate(selected, info);
                }
            }

            MessageInfo? Info(uint uid) =>
                infos is not null ? infos.Find(uid) : entries!.TryGetValue(uid, out var entry) ? entry.Info : null;
        }
        if (byUid)
        {
            await ReportChangesAsync().ConfigureAwait(false);
        }
        if (unknownEncoding)
        {
            Reject(ImapRejectReason.UnknownTransferEncoding);
        }
        else if (missing)
        {
            Reject(ImapRejectReason.ExpungeIssued);
        }
        else
        {
            Ok("FETCH completed\r\n"u8);
        }
        return true;
    }

    // The writer FETCH streams into: its own flushes keep the write deadline (a client that stops reading a large FETCH
    // holds at most the pipe's pause threshold and a flush threshold, and is let go when the deadline passes).
    private DeadlinePipeWriter FetchOutput => _fetchOutput ??= new DeadlinePipeWriter(IO.Output, Connection, IO.WriteTimeout);

    private DeadlinePipeWriter? _fetchOutput;

    // Whether the FETCH response itself tells the client of the \Seen it set: FLAGS, and once CONDSTORE is on also UID
    // and MODSEQ (RFC 7162 §3.2.4); otherwise an untagged FETCH of the change follows it.
    private bool ReportsFlagChange(FetchRequest request) =>
        request.Items.Any(i => i.Kind == FetchItemKind.Flags)
        && (!_condStore || request.Items.Any(i => i.Kind == FetchItemKind.Uid) && request.Items.Any(i => i.Kind == FetchItemKind.ModSeq));

    // A message's response: a failure after its first octet went out cannot be answered within the response, so
    // anything thrown here ends the session (the client sees the connection close, never a cut-off literal taken for whole).
    private async ValueTask<FetchOutcome> WriteFetchAsync(uint sequence, MessageInfo info, MessageSummary? summary, FetchRequest request, PreopenedContent content)
    {
        try
        {
            return await FetchResponseWriter.WriteAsync(FetchOutput, sequence, info, summary,
                request.NeedsContent(summary) ? content.OpenAsync : null,
                request, Connection.Aborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !Connection.Aborted.IsCancellationRequested)
        {
            // An IOException included: a content stream that fails on a bad disk is as fatal here as a broken socket.
            Telemetry.ImapLog.StoreFailed(_logger, Connection.Id, ex);
            return FetchOutcome.OutputCompleted;
        }
    }

    // RFC 7162 §3.2.6: UID FETCH ... (CHANGEDSINCE m VANISHED) first reports the UIDs of the set expunged since m.
    private async ValueTask WriteVanishedEarlierAsync(SelectedFolder selected, SequenceSet set, ulong since)
    {
        var expunged = await Store.GetExpungedSinceAsync(Login, selected.Name, since, Connection.Aborted).ConfigureAwait(false);
        var requested = set.Resolve(selected.LastUid, _savedUids);
        IEnumerable<uint> gone = expunged.Remembered
            ? expunged.Uids.Where(requested.Contains)
            : requested.Count <= 100_000 ? requested.Where(uid => uid < selected.UidNext && selected.SequenceOf(uid) == 0) : [];
        var list = gone.ToList();
        if (list.Count > 0)
        {
            IO.Write("* VANISHED (EARLIER) "u8);
            WriteUidSet(list);
            IO.Write("\r\n"u8);
        }
    }
}
