using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Storage;
using Mail.Protocols.Text;

namespace Mail.Protocols.Imap.Session;

// APPEND (RFC 9051 §6.3.12, RFC 4315 APPENDUID, RFC 7889 APPENDLIMIT, RFC 6855 UTF8): the message is streamed from the
// connection into the store, never held; the target and the size are checked before the client is told to send it.
internal sealed partial class ImapSession
{
    private ValueTask<bool> AppendAsync(AppendArguments arguments)
    {
        var literal = arguments.Message;
        if (literal.Length > Options.AppendLimit)
        {
            // A synchronising literal was not sent; a non-synchronising one is coming and only closing stops it (RFC 7888 §4).
            if (literal.IsSynchronizing)
            {
                Reject(ImapRejectReason.MessageTooLarge);
                return ValueTask.FromResult(true);
            }
            Reject(ImapRejectReason.LiteralTooLarge);
            return ValueTask.FromResult(false);
        }
        return AppendMessageAsync(arguments);
    }

    private async ValueTask<bool> AppendMessageAsync(AppendArguments arguments)
    {
        var literal = arguments.Message;
        FolderStatus? target = null;
        try
        {
            target = await Store.GetStatusAsync(Login, arguments.Mailbox, Connection.Aborted).ConfigureAwait(false);
        }
        catch (MailboxStoreException ex) when (ex.Error == MailboxStoreError.FolderNotFound)
        {
        }
        if (target is null)
        {
            // RFC 9051 §6.3.12: TRYCREATE, and the message is not read (a non-synchronising one is dropped).
            if (!literal.IsSynchronizing && !await SkipRestOfAppendAsync(literal.Length).ConfigureAwait(false))
            {
                return false;
            }
            Reject(ImapRejectReason.TargetNotFound);
            return true;
        }
        if (literal.IsSynchronizing)
        {
            IO.Write(ImapReplies.ContinueLiteral);
            await IO.FlushAsync().ConfigureAwait(false);
        }
        var read = IO.BeginLiteral(literal.Length, _reader.LiteralOptions);
        AppendResult result;
        // A connection that drops or stalls in the message makes the stream throw, and the store keeps nothing.
        var content = read.AsStream();
        try
        {
            result = await Store.AppendAsync(Login, arguments.Mailbox, content,
                new AppendOptions(arguments.Flags.Flags, arguments.Flags.Keywords, arguments.InternalDate), _subscription, Connection.Aborted).ConfigureAwait(false);
        }
        finally
        {
            await content.DisposeAsync().ConfigureAwait(false);
        }
        await read.SkipRestAsync().ConfigureAwait(false);
        _server.Metrics.Appended(result.Size);
        switch (await _reader.ReadRestOfLineAsync().ConfigureAwait(false))
        {
            case CommandReadOutcome.Command:
                break;
            case CommandReadOutcome.Refused:
                Reject(ImapRejectReason.CommandTooLarge);
                return true;
            default:
                return false;
        }
        // RFC 6855 §4: "UTF8 (~{n}" closes its parenthesis after the octets.
        var rest = arguments.IsUtf8 && _reader.Command.StartsWith(")"u8) ? _reader.Command[1..] : _reader.Command;
        if (!rest.IsEmpty || arguments.IsUtf8 && _reader.Command.IsEmpty)
        {
            RejectSyntax("Unexpected text after the message (MULTIAPPEND is not offered); the message was stored");
            return true;
        }
        if (_selected is { } selected && string.Equals(selected.Name, target.Name, StringComparison.Ordinal))
        {
            AddOwnMessages(selected, [result.Uid]);
        }
        await ReportChangesAsync().ConfigureAwait(false);
        // RFC 4315 §3: APPENDUID.
        WriteTagged("OK [APPENDUID "u8);
        IO.Output.WriteNumber(result.UidValidity);
        IO.Write(" "u8);
        IO.Output.WriteNumber(result.Uid);
        IO.Write("] APPEND completed\r\n"u8);
        Success();
        return true;
    }

    /// <summary>An APPEND whose arguments were refused before its message: the message is dropped unread.</summary>
    private async ValueTask<bool> SkipAppendMessageAsync()
    {
        var literal = _reader.PendingLiteral;
        return literal.IsSynchronizing || await SkipRestOfAppendAsync(literal.Length).ConfigureAwait(false);
    }

    // A non-synchronising message the client sent anyway: read past it and the rest of its line, bounded by the
    // append limit (past it, only closing puts the stream back in step).
    private async ValueTask<bool> SkipRestOfAppendAsync(long length)
    {
        if (length > Options.AppendLimit)
        {
            return false;
        }
        await IO.SkipLiteralAsync(length, _reader.LiteralOptions).ConfigureAwait(false);
        return await _reader.ReadRestOfLineAsync().ConfigureAwait(false) == CommandReadOutcome.Command;
    }
}
