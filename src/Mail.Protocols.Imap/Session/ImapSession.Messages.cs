using System.Buffers;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Storage;
using Mail.Protocols.Text;

namespace Mail.Protocols.Imap.Session;

// Selected state: CHECK, CLOSE, UNSELECT, EXPUNGE, UID EXPUNGE, STORE, COPY, MOVE, and IDLE (any authenticated state).
internal sealed partial class ImapSession
{
    private SelectedFolder Selected => _selected!;

    /// <summary>Reports queued changes at a point where every kind may be sent (after a resynchronisation if one is due).</summary>
    private async ValueTask ReportChangesAsync()
    {
        if (_resyncPending)
        {
            await ResynchroniseAsync().ConfigureAwait(false);
        }
        ReportChanges(expunges: true);
        if (_resyncPending)
        {
            await ResynchroniseAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The UIDs a sequence set names in the selected folder, ascending; sequence numbers are mapped to UIDs.</summary>
    private List<uint> ResolveUids(SequenceSet set, bool byUid)
    {
        var selected = Selected;
        var uids = new List<uint>();
        if (byUid)
        {
            // Each range is found in the folder's UIDs by binary search, so "UID FETCH 7" of a large folder does not
            // test every UID of it.
            foreach (var (first, last) in set.Resolve(selected.LastUid, _savedUids).Ranges)
            {
                selected.AddUidsBetween(uids, first, last);
            }
            return uids;
        }
        var sequences = set.Resolve((uint)selected.Count, SavedSequenceNumbers(set));
        foreach (var (first, last) in sequences.Ranges)
        {
            selected.AddUidsOfSequences(uids, first, last);
        }
        return uids;
    }

    // RFC 5182: "$" is kept as the messages' UIDs, so that it survives expunges; a command using sequence numbers sees
    // the numbers those messages have now.
    private NumberSet? _savedUids;

    private NumberSet? SavedSequenceNumbers(SequenceSet set)
    {
        if (!set.IncludesSavedResult || _savedUids is not { } saved)
        {
            return null;
        }
        var selected = Selected;
        return NumberSet.FromNumbers(saved.Select(uid => (uint)selected.SequenceOf(uid)).Where(sequence => sequence != 0));
    }

    /// <summary>RFC 9051 §6.4.9: a sequence number beyond the folder is an error (a UID beyond it simply matches nothing).</summary>
    private bool SequenceNumbersValid(SequenceSet set) =>
        set.Resolve((uint)Selected.Count, SavedSequenceNumbers(set)).Max <= Selected.Count;

    private async ValueTask<bool> CheckAsync()
    {
        await ReportChangesAsync().ConfigureAwait(false);
        Ok("CHECK completed\r\n"u8);
        return true;
    }

    private async ValueTask<bool> CloseAsync(bool expunge)
    {
        var selected = Selected;
        _selected = null;
        _state = ImapState.Authenticated;
        // RFC 9051 §6.4.1: CLOSE expunges silently, and not in a folder opened read-only.
        if (expunge && !selected.ReadOnly)
        {
            await Store.ExpungeAsync(Login, selected.Name, null, _subscription, Connection.Aborted).ConfigureAwait(false);
        }
        Ok(expunge ? "CLOSE completed\r\n"u8 : "UNSELECT completed\r\n"u8);
        return true;
    }

    private async ValueTask<bool> ExpungeAsync(SequenceSet? uidSet)
    {
        var selected = Selected;
        if (selected.ReadOnly)
        {
            Reject(ImapRejectReason.ReadOnly);
            return true;
        }
        await ReportChangesAsync().ConfigureAwait(false);
        IReadOnlyCollection<uint>? uids = null;
        if (uidSet is not null)
        {
            // UID EXPUNGE (RFC 4315 §2.1): only the named messages that are flagged \Deleted.
            var named = ResolveUids(uidSet, byUid: true).ToHashSet();
            var messages = await Store.ListMessagesAsync(Login, selected.Name, Connection.Aborted).ConfigureAwait(false);
            uids = messages.Where(m => named.Contains(m.Uid) && (m.Flags & MessageFlags.Deleted) != 0).Select(m => m.Uid).ToList();
        }
        var expunged = uids is { Count: 0 } ? [] : await Store.ExpungeAsync(Login, selected.Name, uids, _subscription, Connection.Aborted).ConfigureAwait(false);
        WriteExpunges(selected, expunged);
        // Another session may have expunged some of this client's \Deleted messages after the report above and before
        // the store was asked: the store does not return them, the queue has them. Reported now, so that no message
        // the client flagged \Deleted seems to survive its EXPUNGE (found by the mixed load of benchmarks/ImapLoad).
        await ReportChangesAsync().ConfigureAwait(false);
        Ok("EXPUNGE completed\r\n"u8);
        return true;
    }

    // The session's own expunges, which its change queue does not repeat.
    private void WriteExpunges(SelectedFolder selected, IReadOnlyList<uint> uids)
    {
        if (_qresync && uids.Count > 0)
        {
            var known = uids.Where(uid => selected.Remove(uid) != 0).ToList();
            if (known.Count > 0)
            {
                IO.Write("* VANISHED "u8);
                WriteUidSet(known);
                IO.Write("\r\n"u8);
            }
            return;
        }
        foreach (var uid in uids)
        {
            WriteExpunged(selected, uid);
        }
    }

    private async ValueTask<bool> StoreAsync(StoreArguments arguments, bool byUid)
    {
        var selected = Selected;
        if (selected.ReadOnly)
        {
            Reject(ImapRejectReason.ReadOnly);
            return true;
        }
        if (!byUid && !SequenceNumbersValid(arguments.Set))
        {
            RejectSyntax("Invalid message sequence number");
            return true;
        }
        if (arguments.UnchangedSince is not null)
        {
            _condStore = true; // RFC 7162 §3.1: a STORE with UNCHANGEDSINCE enables CONDSTORE
        }
        var uids = ResolveUids(arguments.Set, byUid);
        var result = uids.Count == 0
            ? new FlagUpdateResult([], [])
            : await Store.UpdateFlagsAsync(Login, selected.Name, uids, arguments.Flags.ToFlagChange(arguments.Mode), (ulong?)arguments.UnchangedSince, _subscription, Connection.Aborted).ConfigureAwait(false);
        foreach (var message in result.Updated)
        {
            // RFC 7162 §3.1.3: with CONDSTORE on, even a .SILENT store reports the new MODSEQ.
            if (arguments.Silent && !_condStore)
            {
                continue;
            }
            var sequence = selected.SequenceOf(message.Uid);
            if (sequence == 0)
            {
                continue;
            }
            IO.Write("* "u8);
            IO.Output.WriteNumber(sequence);
            IO.Write(" FETCH ("u8);
            var separator = false;
            if (!arguments.Silent)
            {
                IO.Write("FLAGS "u8);
                WriteFlagList(message.Flags, message.Keywords);
                separator = true;
            }
            // RFC 7162 §3.2.4: once CONDSTORE is on, every FETCH a STORE causes has the UID (and the MODSEQ below).
            if (byUid || _condStore)
            {
                IO.Write(separator ? " UID "u8 : "UID "u8);
                IO.Output.WriteNumber(message.Uid);
                separator = true;
            }
            if (_condStore)
            {
                IO.Write(separator ? " MODSEQ ("u8 : "MODSEQ ("u8);
                IO.Output.WriteNumber(message.ModSeq);
                IO.Write(")"u8);
            }
            IO.Write(")\r\n"u8);
        }
        if (byUid)
        {
            await ReportChangesAsync().ConfigureAwait(false);
        }
        if (result.Modified.Count > 0)
        {
            // RFC 7162 §3.1.3: the messages left alone, by UID for UID STORE and by number otherwise.
            WriteTagged("OK [MODIFIED "u8);
            WriteUidSet(byUid ? result.Modified : [.. result.Modified.Select(uid => (uint)selected.SequenceOf(uid))]);
            IO.Write("] Conditional STORE failed\r\n"u8);
            Success();
            return true;
        }
        Ok("STORE completed\r\n"u8);
        return true;
    }

    private async ValueTask<bool> CopyAsync(CopyArguments arguments, bool byUid, bool move)
    {
        var selected = Selected;
        if (!byUid && !SequenceNumbersValid(arguments.Set))
        {
            RejectSyntax("Invalid message sequence number");
            return true;
        }
        if (move && selected.ReadOnly)
        {
            Reject(ImapRejectReason.ReadOnly);
            return true;
        }
        var uids = ResolveUids(arguments.Set, byUid);
        CopyResult result;
        try
        {
            result = move
                ? await Store.MoveAsync(Login, selected.Name, uids, arguments.Mailbox, _subscription, Connection.Aborted).ConfigureAwait(false)
                : await Store.CopyAsync(Login, selected.Name, uids, arguments.Mailbox, _subscription, Connection.Aborted).ConfigureAwait(false);
        }
        catch (MailboxStoreException ex) when (ex.Error == MailboxStoreError.FolderNotFound)
        {
            Reject(ImapRejectReason.TargetNotFound); // RFC 9051 §6.4.7: the client may CREATE and try again
            return true;
        }
        var sameFolder = string.Equals(arguments.Mailbox, selected.Name, StringComparison.Ordinal);
        if (move)
        {
            // RFC 6851 §4.3: COPYUID comes untagged first, then the expunges, then the tagged OK.
            if (result.SourceUids.Count > 0)
            {
                IO.Write("* OK [COPYUID "u8);
                WriteCopyUid(result);
                IO.Write("] Moved\r\n"u8);
            }
            WriteExpunges(selected, result.SourceUids);
        }
        if (sameFolder)
        {
            AddOwnMessages(selected, result.TargetUids);
        }
        await ReportChangesAsync().ConfigureAwait(false);
        if (move || result.SourceUids.Count == 0)
        {
            Ok(move ? "MOVE completed\r\n"u8 : "COPY completed\r\n"u8);
            return true;
        }
        WriteTagged("OK [COPYUID "u8);
        WriteCopyUid(result);
        IO.Write("] COPY completed\r\n"u8);
        Success();
        return true;
    }

    private void WriteCopyUid(CopyResult result)
    {
        IO.Output.WriteNumber(result.UidValidity);
        IO.Write(" "u8);
        WriteUidList(result.SourceUids);
        IO.Write(" "u8);
        WriteUidList(result.TargetUids);
    }

    // RFC 4315 uid-set in the order given (source and target must pair up, so no reordering).
    private void WriteUidList(IReadOnlyList<uint> uids)
    {
        for (var i = 0; i < uids.Count;)
        {
            var start = uids[i];
            var end = start;
            while (i + 1 < uids.Count && uids[i + 1] == end + 1)
            {
                end = uids[++i];
            }
            if (start != uids[0] || i > 0 && uids[0] != start)
            {
                IO.Write(","u8);
            }
            IO.Output.WriteNumber(start);
            if (end != start)
            {
                IO.Write(":"u8);
                IO.Output.WriteNumber(end);
            }
            i++;
        }
    }

    // Messages this session added to the folder it has selected: its change queue will not announce them.
    // The store queues this session's own APPEND or COPY into the selected folder for the other sessions only. Other
    // sessions' messages with lower UIDs may still wait in the queue: adding ours first would make them look known
    // (SelectedFolder.Add takes only UIDs above the last one) and lose them. So ours wait here, and ReportChanges adds
    // each in UID order among the queued ones (ReportChangesAsync follows in APPEND, COPY and MOVE).
    private void AddOwnMessages(SelectedFolder selected, IEnumerable<uint> uids)
    {
        _ownAdded.AddRange(uids);
        _ownAdded.Sort();
    }

    // RFC 2177 IDLE: changes are reported as they happen until the client sends DONE.
    private async ValueTask<bool> IdleAsync()
    {
        IO.Write("+ idling\r\n"u8);
        _reader.ReleaseBuffer(); // the tag was copied; the command's octets are not needed while the session idles
        await ReportChangesAsync().ConfigureAwait(false);
        var signal = _idleSignal ??= new SessionSignal();
        while (true)
        {
            // The watch starts after the changes queued so far were reported, so a queue the session has not read yet
            // does not spin it.
            WatchSubscription(signal);
            var outcome = await IO.WaitForInputAsync(signal, Options.IdleTimeout, TimeoutReason.ImapIdle).ConfigureAwait(false);
            switch (outcome)
            {
                case InputWaitOutcome.InputAvailable:
                    return await EndIdleAsync().ConfigureAwait(false);
                case InputWaitOutcome.Signalled:
                    await ReportChangesAsync().ConfigureAwait(false);
                    break;
                case InputWaitOutcome.TimedOut:
                    OnTimedOut();
                    return false;
                case InputWaitOutcome.ShutdownRequested:
                    WriteShuttingDown();
                    return false;
                default:
                    return false;
            }
        }
    }

    private SessionSignal? _idleSignal;

    // 1 while a watch of the subscription is pending. At most one exists: it is not cancelled when IDLE ends (that
    // took a CancellationTokenSource, its registration and a cancellable wait per IDLE, about 300 octets held by
    // every idling session) but kept for the next IDLE. It ends when a change is queued, or with false when the
    // subscription is disposed at the session's end. A change it signals between two IDLEs costs the next IDLE one
    // empty report.
    private int _watching;

    private void WatchSubscription(SessionSignal signal)
    {
        if (_subscription is { } subscription && Interlocked.CompareExchange(ref _watching, 1, 0) == 0)
        {
            _ = SignalOnChangeAsync(subscription, signal);
        }
    }

    private async Task SignalOnChangeAsync(MailboxSubscription subscription, SessionSignal signal)
    {
        // Without a cancellation token the wait is the subscription's own task, with nothing allocated around it.
        if (await subscription.WaitToReadAsync().ConfigureAwait(false))
        {
            // Cleared before the signal is set, so the session, woken by it, starts the next watch.
            Volatile.Write(ref _watching, 0);
            signal.Set();
        }
    }

    private async ValueTask<bool> EndIdleAsync()
    {
        var outcome = await IO.ReadLineAsync(Options.MaxLineLength, Options.IdleTimeout, allowShutdown: false).ConfigureAwait(false);
        if (outcome != LineReadOutcome.Line)
        {
            return false;
        }
        if (!Ascii.EqualsIgnoreCase(IO.Line, "DONE"u8))
        {
            RejectSyntax("Expected DONE to end IDLE");
            return true;
        }
        await ReportChangesAsync().ConfigureAwait(false);
        Ok("IDLE terminated\r\n"u8);
        return true;
    }
}
