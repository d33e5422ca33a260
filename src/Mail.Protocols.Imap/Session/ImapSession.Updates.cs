using System.Buffers;
using Mail.Protocols.Imap.Telemetry;
using Mail.Protocols.Storage;
using Mail.Protocols.Text;

namespace Mail.Protocols.Imap.Session;

// Unsolicited responses: what other sessions, SMTP delivery and POP3 changed in the selected folder, read from the
// session's change queue and reported as EXISTS, EXPUNGE (VANISHED once QRESYNC is on) and FETCH FLAGS.
internal sealed partial class ImapSession
{
    // Set when a batch said the queue overflowed: the next report point takes a fresh snapshot instead.
    private bool _resyncPending;

    // This session's own additions to the selected folder (APPEND, COPY), ascending, not yet in the folder's UIDs.
    private readonly List<uint> _ownAdded = [];

    /// <summary>
    /// Reports the changes waiting in the session's queue. With <paramref name="expunges"/> false (during FETCH, STORE
    /// and SEARCH, RFC 9051 §7.5.1) nothing is read, so sequence numbers cannot move; the queue keeps the changes for
    /// the next point that allows them all.
    /// </summary>
    private void ReportChanges(bool expunges)
    {
        if (_subscription is not { } subscription || !expunges)
        {
            return;
        }
        if (_selected is not { } selected)
        {
            // Nothing selected (a SELECT failed, or CLOSE): what the queue holds concerns no folder the client follows.
            while (subscription.TryRead(out _))
            {
            }
            _resyncPending = false;
            return;
        }
        var existsBefore = selected.Count;
        while (subscription.TryRead(out var batch))
        {
            if (batch.ResyncRequired)
            {
                _resyncPending = true;
                continue;
            }
            if (batch.Changes is [{ Kind: MailboxChangeKind.FolderRenamed, NewFolderName: { } newName } renamed])
            {
                FollowRename(selected, renamed.Folder, newName);
                continue;
            }
            if (!batch.IsMessageChanges || batch.UidValidity != selected.UidValidity
                || !string.Equals(batch.Folder, selected.Name, StringComparison.Ordinal))
            {
                continue; // another folder, or folder changes: LIST and STATUS read the store afresh
            }
            foreach (var change in batch.Changes)
            {
                switch (change.Kind)
                {
                    case MailboxChangeKind.MessageAdded:
                        AddOwnUpTo(selected, change.Uid);
                        selected.Add(change.Uid);
                        break;
                    case MailboxChangeKind.FlagsChanged when change.Message is { } message:
                        AddOwnUpTo(selected, change.Uid);
                        WriteExistsIfGrown(selected, ref existsBefore);
                        WriteFlagsUpdate(selected, message);
                        break;
                    case MailboxChangeKind.MessageExpunged:
                        AddOwnUpTo(selected, change.Uid);
                        WriteExistsIfGrown(selected, ref existsBefore);
                        WriteExpunged(selected, change.Uid);
                        existsBefore = selected.Count;
                        break;
                }
            }
            if (batch.HighestModSeq > selected.HighestModSeq)
            {
                selected.HighestModSeq = batch.HighestModSeq;
            }
        }
        AddOwnUpTo(selected, uint.MaxValue);
        WriteExistsIfGrown(selected, ref existsBefore);
    }

    // Adds this session's own new messages with UIDs up to `uid` (see AddOwnMessages), before a queued change that
    // names a higher UID or that very message (flags changed or expunged by another session right after it came).
    private void AddOwnUpTo(SelectedFolder selected, uint uid)
    {
        var taken = 0;
        while (taken < _ownAdded.Count && _ownAdded[taken] <= uid)
        {
            selected.Add(_ownAdded[taken++]);
        }
        _ownAdded.RemoveRange(0, taken);
    }

    // The selected folder, or one above it, was renamed (by this session or another): it keeps its messages and
    // UIDVALIDITY, so the selection follows it under its new name (a client learns the name from its next LIST).
    private void FollowRename(SelectedFolder selected, string from, string to)
    {
        if (string.Equals(from, "INBOX", StringComparison.OrdinalIgnoreCase))
        {
            return; // renaming INBOX moves its messages into a new folder and leaves INBOX (RFC 9051 §6.3.6)
        }
        if (string.Equals(selected.Name, from, StringComparison.Ordinal))
        {
            selected.Name = to;
        }
        else if (selected.Name.Length > from.Length && selected.Name.StartsWith(from, StringComparison.Ordinal)
            && selected.Name[from.Length] == Store.HierarchySeparator)
        {
            selected.Name = to + selected.Name[from.Length..];
        }
    }

    // New messages are announced before anything that could name their sequence numbers.
    private void WriteExistsIfGrown(SelectedFolder selected, ref int reported)
    {
        if (selected.Count > reported)
        {
            WriteExists(selected.Count);
            reported = selected.Count;
        }
    }

    private void WriteExists(int count)
    {
        IO.Write("* "u8);
        IO.Output.WriteNumber(count);
        IO.Write(" EXISTS\r\n"u8);
    }

    private void WriteExpunged(SelectedFolder selected, uint uid)
    {
        var sequence = selected.Remove(uid);
        if (sequence == 0)
        {
            return;
        }
        if (_qresync)
        {
            // RFC 7162 §3.2.10: once QRESYNC is enabled, VANISHED replaces EXPUNGE.
            IO.Write("* VANISHED "u8);
            IO.Output.WriteNumber(uid);
            IO.Write("\r\n"u8);
            return;
        }
        IO.Write("* "u8);
        IO.Output.WriteNumber(sequence);
        IO.Write(" EXPUNGE\r\n"u8);
    }

    private void WriteFlagsUpdate(SelectedFolder selected, MessageInfo message)
    {
        var sequence = selected.SequenceOf(message.Uid);
        if (sequence == 0)
        {
            return;
        }
        IO.Write("* "u8);
        IO.Output.WriteNumber(sequence);
        IO.Write(" FETCH (FLAGS "u8);
        WriteFlagList(message.Flags, message.Keywords);
        // RFC 7162 §3.2.4 (this server offers QRESYNC): once CONDSTORE is on, an untagged FETCH of a flag change caused by
        // a STORE, a FETCH that set \Seen or another session carries both the UID and the MODSEQ.
        if (_condStore)
        {
            IO.Write(" UID "u8);
            IO.Output.WriteNumber(message.Uid);
        }
        if (_condStore)
        {
            IO.Write(" MODSEQ ("u8);
            IO.Output.WriteNumber(message.ModSeq);
            IO.Write(")"u8);
        }
        IO.Write(")\r\n"u8);
    }

    /// <summary>Writes a parenthesised flag list: system flags, then keywords.</summary>
    private void WriteFlagList(MessageFlags flags, IReadOnlyCollection<string> keywords)
    {
        var output = IO.Output;
        output.Write("("u8);
        var first = true;
        foreach (var (flag, name) in s_systemFlags)
        {
            if ((flags & flag) != 0)
            {
                if (!first)
                {
                    output.Write(" "u8);
                }
                output.Write(name);
                first = false;
            }
        }
        foreach (var keyword in keywords)
        {
            if (!first)
            {
                output.Write(" "u8);
            }
            output.WriteAscii(keyword);
            first = false;
        }
        output.Write(")"u8);
    }

    private static readonly (MessageFlags Flag, byte[] Name)[] s_systemFlags =
    [
        (MessageFlags.Seen, "\\Seen"u8.ToArray()),
        (MessageFlags.Answered, "\\Answered"u8.ToArray()),
        (MessageFlags.Flagged, "\\Flagged"u8.ToArray()),
        (MessageFlags.Deleted, "\\Deleted"u8.ToArray()),
        (MessageFlags.Draft, "\\Draft"u8.ToArray()),
    ];

    /// <summary>
    /// After the queue overflowed: takes a fresh snapshot and reports the difference from what the client knows
    /// (expunges, then new messages). Flag changes lost with the queue are not replayed; a client that needs them
    /// uses CONDSTORE's CHANGEDSINCE or re-fetches FLAGS.
    /// </summary>
    private async ValueTask ResynchroniseAsync()
    {
        if (!_resyncPending || _selected is not { } selected || _user is null)
        {
            return;
        }
        _resyncPending = false;
        ImapLog.Resynchronised(_logger, Connection.Id);
        var snapshot = await Store.OpenFolderAsync(_user.Login, selected.Name, _subscription, Connection.Aborted).ConfigureAwait(false);
        var current = new HashSet<uint>(snapshot.Messages.Count);
        foreach (var message in snapshot.Messages)
        {
            current.Add(message.Uid);
        }
        var gone = new List<uint>();
        foreach (var uid in selected.ToArray())
        {
            if (!current.Contains(uid))
            {
                gone.Add(uid);
            }
        }
        foreach (var uid in gone)
        {
            WriteExpunged(selected, uid);
        }
        var before = selected.Count;
        foreach (var message in snapshot.Messages)
        {
            selected.Add(message.Uid);
        }
        WriteExistsIfGrown(selected, ref before);
        selected.HighestModSeq = Math.Max(selected.HighestModSeq, snapshot.Status.HighestModSeq);
    }
}
