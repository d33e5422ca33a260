using System.Buffers;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Storage;
using Mail.Protocols.Text;

namespace Mail.Protocols.Imap.Session;

// Authenticated state: SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, NAMESPACE, STATUS;
// LIST and LSUB are in ImapSession.List.cs.
internal sealed partial class ImapSession
{
    private string Login => _user!.Login;

    private async ValueTask<bool> SelectAsync(SelectArguments arguments, bool readOnly)
    {
        // RFC 7162 §3.2.5: QRESYNC needs ENABLE QRESYNC first; the BAD changes nothing (the folder stays selected).
        if (arguments.QResync is not null && !_qresync)
        {
            RejectSyntax("QRESYNC is not enabled");
            return true;
        }
        // RFC 9051 §6.3.2: a SELECT first closes the folder selected, even when the new one cannot be opened.
        var wasSelected = _selected is not null;
        _selected = null;
        _state = ImapState.Authenticated;
        _savedUids = null; // RFC 5182 §2.1: the saved result does not outlive the selection
        if (wasSelected)
        {
            // RFC 7162 §3.2.11 (and RFC 9051 §7.1): the end of the old folder's responses.
            IO.Write("* OK [CLOSED] Previous mailbox closed\r\n"u8);
        }
        if (arguments.CondStore || arguments.QResync is not null)
        {
            _condStore = true; // RFC 7162 §3.1: SELECT (CONDSTORE) enables CONDSTORE
        }
        FolderSnapshot snapshot;
        ExpungedUids? expunged = null;
        try
        {
            if (arguments.QResync is { } asked)
            {
                // One store call for the folder and its expunges: the store re-scans once and answers both at one instant.
                var resync = await Store.OpenFolderForResyncAsync(Login, arguments.Mailbox, (ulong)asked.ModSeq, _subscription, Connection.Aborted).ConfigureAwait(false);
                (snapshot, expunged) = (resync.Snapshot, resync.Expunged);
            }
            else
            {
                snapshot = await Store.OpenFolderAsync(Login, arguments.Mailbox, _subscription, Connection.Aborted).ConfigureAwait(false);
            }
        }
        catch (MailboxStoreException ex) when (ex.Error == MailboxStoreError.FolderNotFound)
        {
            Reject(ImapRejectReason.MailboxNotFound);
            return true;
        }
        var selected = new SelectedFolder(snapshot.Status.Name, readOnly, snapshot);
        var status = snapshot.Status;

        IO.Write("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"u8);
        WriteExists(selected.Count);
        if (!_imap4rev2)
        {
            // RFC 3501 §6.3.1 requires RECENT; no store keeps \Recent (docs/imap.md), so it is always 0.
            IO.Write("* 0 RECENT\r\n"u8);
            var firstUnseen = FirstUnseen(snapshot.Messages);
            if (firstUnseen > 0)
            {
                IO.Write("* OK [UNSEEN "u8);
                IO.Output.WriteNumber(firstUnseen);
                IO.Write("] First unseen\r\n"u8);
            }
        }
        IO.Write(readOnly
            ? "* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n"u8
            : "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted\r\n"u8);
        IO.Write("* OK [UIDVALIDITY "u8);
        IO.Output.WriteNumber(status.UidValidity);
        IO.Write("] UIDs valid\r\n"u8);
        IO.Write("* OK [UIDNEXT "u8);
        IO.Output.WriteNumber(status.UidNext);
        IO.Write("] Predicted next UID\r\n"u8);
        if (_condStore)
        {
            // RFC 7162 §3.1.2.1: HIGHESTMODSEQ of the folder as opened.
            IO.Write("* OK [HIGHESTMODSEQ "u8);
            IO.Output.WriteNumber(status.HighestModSeq);
            IO.Write("] Highest\r\n"u8);
        }
        if (_imap4rev2)
        {
            // RFC 9051 §6.3.2: the LIST response of the selected name, which tells the client its exact spelling.
            IO.Write("* LIST () \""u8);
            WriteDelimiter();
            IO.Write("\" "u8);
            WriteMailboxName(status.Name);
            IO.Write("\r\n"u8);
        }
        if (arguments.QResync is { } qresync)
        {
            WriteQResync(selected, snapshot, qresync, expunged!);
        }
        _selected = selected;
        _state = ImapState.Selected;
        WriteTagged(readOnly ? "OK [READ-ONLY] "u8 : "OK [READ-WRITE] "u8);
        IO.Write(readOnly ? "EXAMINE completed\r\n"u8 : "SELECT completed\r\n"u8);
        Success();
        return true;
    }

    private static int FirstUnseen(IReadOnlyList<MessageInfo> messages)
    {
        for (var i = 0; i < messages.Count; i++)
        {
            if ((messages[i].Flags & MessageFlags.Seen) == 0)
            {
                return i + 1;
            }
        }
        return 0;
    }

    // RFC 7162 §3.2.5: with the UIDVALIDITY the client knows, it is told what vanished and what changed since its MODSEQ.
    private void WriteQResync(SelectedFolder selected, FolderSnapshot snapshot, QResyncParameters qresync, ExpungedUids expunged)
    {
        if (qresync.UidValidity != selected.UidValidity)
        {
            return; // the client's cache is of another folder: it must start over, nothing to report
        }
        IEnumerable<uint> vanished;
        if (expunged.Remembered)
        {
            vanished = expunged.Uids;
        }
        else
        {
            // The store forgot that far back: every UID the client named (or could know) that is gone now.
            vanished = qresync.KnownUids is { } known
                ? known.Resolve(selected.LastUid).Where(uid => selected.SequenceOf(uid) == 0)
                : [];
        }
        var knownUids = qresync.KnownUids?.Resolve(uint.MaxValue);
        var list = vanished.Where(uid => knownUids is null || knownUids.Contains(uid)).ToList();
        if (list.Count > 0)
        {
            IO.Write("* VANISHED (EARLIER) "u8);
            WriteUidSet(list);
            IO.Write("\r\n"u8);
        }
        foreach (var message in snapshot.Messages)
        {
            if (message.ModSeq > (ulong)qresync.ModSeq)
            {
                var sequence = selected.SequenceOf(message.Uid);
                IO.Write("* "u8);
                IO.Output.WriteNumber(sequence);
                IO.Write(" FETCH (UID "u8);
                IO.Output.WriteNumber(message.Uid);
                IO.Write(" FLAGS "u8);
                WriteFlagList(message.Flags, message.Keywords);
                IO.Write(" MODSEQ ("u8);
                IO.Output.WriteNumber(message.ModSeq);
                IO.Write("))\r\n"u8);
            }
        }
    }

    /// <summary>Writes UIDs (any order) as a compact sequence set (runs become ranges).</summary>
    private void WriteUidSet(IEnumerable<uint> uids) => NumberSet.FromNumbers(uids).WriteTo(IO.Output);

    private async ValueTask<bool> CreateAsync(CreateArguments arguments)
    {
        // RFC 9051 §6.3.4: a trailing delimiter only says that names will be created below.
        var name = arguments.Mailbox.TrimEnd(Store.HierarchySeparator);
        if (name.Length == 0)
        {
            Reject(ImapRejectReason.InvalidName);
            return true;
        }
        if (string.Equals(name, "INBOX", StringComparison.OrdinalIgnoreCase))
        {
            Reject(ImapRejectReason.MailboxExists);
            return true;
        }
        // RFC 6154 §5.3: a role this server does not know is refused; one folder takes one role here.
        if (arguments.UnknownUses.Count > 0 || arguments.Uses.Count > 1)
        {
            Reject(ImapRejectReason.UnknownSpecialUse);
            return true;
        }
        await Store.CreateFolderAsync(Login, name, arguments.Uses.Count == 1 ? arguments.Uses[0] : SpecialUse.None, Connection.Aborted).ConfigureAwait(false);
        await ReportChangesAsync().ConfigureAwait(false);
        Ok("CREATE completed\r\n"u8);
        return true;
    }

    private async ValueTask<bool> DeleteAsync(string mailbox)
    {
        if (string.Equals(mailbox, "INBOX", StringComparison.OrdinalIgnoreCase))
        {
            Reject(ImapRejectReason.NotAllowed);
            return true;
        }
        await Store.DeleteFolderAsync(Login, mailbox, Connection.Aborted).ConfigureAwait(false);
        await ReportChangesAsync().ConfigureAwait(false);
        Ok("DELETE completed\r\n"u8);
        return true;
    }

    private async ValueTask<bool> RenameAsync(string from, string to)
    {
        await Store.RenameFolderAsync(Login, from, to, Connection.Aborted).ConfigureAwait(false);
        if (_selected is { } selected)
        {
            FollowRename(selected, from, to);
        }
        await ReportChangesAsync().ConfigureAwait(false);
        Ok("RENAME completed\r\n"u8);
        return true;
    }

    private async ValueTask<bool> SubscribeAsync(string mailbox, bool subscribe)
    {
        if (subscribe)
        {
            await Store.AddSubscriptionAsync(Login, mailbox, Connection.Aborted).ConfigureAwait(false);
        }
        else
        {
            await Store.RemoveSubscriptionAsync(Login, mailbox, Connection.Aborted).ConfigureAwait(false);
        }
        await ReportChangesAsync().ConfigureAwait(false);
        Ok(subscribe ? "SUBSCRIBE completed\r\n"u8 : "UNSUBSCRIBE completed\r\n"u8);
        return true;
    }

    // RFC 2342: one personal namespace, no others.
    private async ValueTask<bool> NamespaceAsync()
    {
        IO.Write("* NAMESPACE ((\"\" \""u8);
        WriteDelimiter();
        IO.Write("\")) NIL NIL\r\n"u8);
        await ReportChangesAsync().ConfigureAwait(false);
        Ok("NAMESPACE completed\r\n"u8);
        return true;
    }

    private async ValueTask<bool> StatusAsync(StatusArguments arguments)
    {
        // RFC 9051 §6.3.11: STATUS of the selected folder is allowed; its answer comes from the store like any other.
        if ((arguments.Items & StatusItems.HighestModSeq) != 0)
        {
            _condStore = true; // RFC 7162 §3.1: STATUS (HIGHESTMODSEQ) is a CONDSTORE enabling command
        }
        var status = await Store.GetStatusAsync(Login, arguments.Mailbox, Connection.Aborted).ConfigureAwait(false);
        WriteStatus(status, arguments.Items);
        await ReportChangesAsync().ConfigureAwait(false);
        Ok("STATUS completed\r\n"u8);
        return true;
    }

    private void WriteStatus(FolderStatus status, StatusItems items)
    {
        IO.Write("* STATUS "u8);
        WriteMailboxName(status.Name);
        IO.Write(" ("u8);
        var first = true;
        Item(StatusItems.Messages, "MESSAGES "u8, status.Messages);
        Item(StatusItems.UidNext, "UIDNEXT "u8, status.UidNext);
        Item(StatusItems.UidValidity, "UIDVALIDITY "u8, status.UidValidity);
        Item(StatusItems.Unseen, "UNSEEN "u8, status.Unseen);
        Item(StatusItems.Deleted, "DELETED "u8, status.Deleted);
        Item(StatusItems.Size, "SIZE "u8, status.Size);
        Item(StatusItems.Recent, "RECENT "u8, 0);
        Item(StatusItems.HighestModSeq, "HIGHESTMODSEQ "u8, (long)status.HighestModSeq);
        IO.Write(")\r\n"u8);

        void Item(StatusItems item, ReadOnlySpan<byte> name, long value)
        {
            if ((items & item) == 0)
            {
                return;
            }
            if (!first)
            {
                IO.Write(" "u8);
            }
            IO.Write(name);
            IO.Output.WriteNumber(value);
            first = false;
        }
    }

    private void WriteDelimiter()
    {
        var separator = Store.HierarchySeparator;
        if (separator is '"' or '\\')
        {
            IO.Write("\\"u8);
        }
        Span<byte> one = [(byte)separator];
        IO.Write(one);
    }

    /// <summary>
    /// Writes a mailbox name as an astring: modified UTF-7 (RFC 3501 §5.1.3), or UTF-8 once UTF8=ACCEPT or IMAP4rev2 is
    /// enabled (RFC 6855 §3, RFC 9051 §5.1); quoted when it can be, a literal otherwise.
    /// </summary>
    private void WriteMailboxName(string name)
    {
        if (string.Equals(name, "INBOX", StringComparison.OrdinalIgnoreCase))
        {
            IO.Write("INBOX"u8);
            return;
        }
        var octets = Utf8MailboxNames ? System.Text.Encoding.UTF8.GetBytes(name) : System.Text.Encoding.ASCII.GetBytes(ModifiedUtf7.Encode(name));
        if (IsAString(octets))
        {
            IO.Write(octets); // an atom-like name goes as it is, as servers commonly write it
            return;
        }
        IO.Output.WriteString(octets);
    }

    private static bool IsAString(ReadOnlySpan<byte> octets)
    {
        if (octets.IsEmpty)
        {
            return false;
        }
        foreach (var octet in octets)
        {
            if (!ImapReader.IsAStringChar(octet))
            {
                return false;
            }
        }
        return true;
    }
}
