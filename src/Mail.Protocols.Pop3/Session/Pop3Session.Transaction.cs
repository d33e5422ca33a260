using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using Mail.Protocols.Text;
using Mail.Protocols.Pop3.Protocol;
using Mail.Protocols.Pop3.Telemetry;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Pop3.Session;

// TRANSACTION state (RFC 1939 §5) and UPDATE (§6).
internal sealed partial class Pop3Session
{
    private const int ChunkSize = 32 * 1024;
    private static readonly FlagChange s_addSeen = new(FlagChangeMode.Add, MessageFlags.Seen);

    private ValueTask<bool> ExecuteTransactionAsync(Pop3Verb verb, ReadOnlySpan<byte> arguments)
    {
        switch (verb)
        {
            case Pop3Verb.Stat:
                long size = 0;
                var count = 0;
                for (var i = 0; i < _messages.Count; i++)
                {
                    if (!_deleted[i])
                    {
                        count++;
                        size += _messages[i].Size;
                    }
                }
                IO.Write("+OK "u8);
                IO.Output.WriteNumber(count);
                IO.Write(" "u8);
                IO.Output.WriteNumber(size);
                IO.Write("\r\n"u8);
                Success();
                break;
            case Pop3Verb.List:
            case Pop3Verb.Uidl:
                Listing(arguments, uidl: verb == Pop3Verb.Uidl);
                break;
            case Pop3Verb.Retr:
                if (TryMessage(arguments, out var retr))
                {
                    return SendMessageAsync(retr, null);
                }
                break;
            case Pop3Verb.Top:
                var space = arguments.IndexOf((byte)' ');
                // RFC 1939 §7: more lines than the body has sends it all, so a count too large for a long is "all".
                if (space < 0 || !TryParseNumber(arguments[(space + 1)..], out var lines))
                {
                    Error(Pop3RejectReason.TopSyntax);
                    break;
                }
                if (TryMessage(arguments[..space], out var top))
                {
                    return SendMessageAsync(top, lines);
                }
                break;
            case Pop3Verb.Dele:
                if (TryMessage(arguments, out var dele))
                {
                    _deleted[dele] = true;
                    IO.Write("+OK message "u8);
                    IO.Output.WriteNumber(dele + 1);
                    IO.Write(" deleted\r\n"u8);
                    Success();
                }
                break;
            case Pop3Verb.Rset:
                Array.Clear(_deleted);
                IO.Write("+OK maildrop has "u8);
                IO.Output.WriteNumber(_messages.Count);
                IO.Write(" message(s)\r\n"u8);
                Success();
                break;
            case Pop3Verb.Noop:
                IO.Write("+OK\r\n"u8);
                Success();
                break;
            case Pop3Verb.Capa:
                Capabilities();
                break;
            case Pop3Verb.Quit:
                return UpdateAsync();
            case Pop3Verb.User or Pop3Verb.Pass or Pop3Verb.Apop or Pop3Verb.Auth or Pop3Verb.Stls or Pop3Verb.Utf8:
                Error(Pop3RejectReason.AlreadyLoggedIn);
                break;
            default:
                Error(Pop3RejectReason.UnknownCommand);
                break;
        }
        return ValueTask.FromResult(true);
    }

    // A non-negative decimal number: digits only (no sign, no space); one too large for a long reads as long.MaxValue.
    private static bool TryParseNumber(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        if (text.IsEmpty || text.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
        {
            return false;
        }
        if (!Utf8Parser.TryParse(text, out value, out var used) || used != text.Length)
        {
            value = long.MaxValue;
        }
        return true;
    }

    // Parses a message number and checks it names a message that is not deleted.
    private bool TryMessage(ReadOnlySpan<byte> argument, out int index)
    {
        index = -1;
        if (!TryParseNumber(argument, out var number))
        {
            Error(Pop3RejectReason.InvalidMessageNumber);
            return false;
        }
        if (number < 1 || number > _messages.Count)
        {
            Error(Pop3RejectReason.NoSuchMessage);
            return false;
        }
        if (_deleted[number - 1])
        {
            Error(Pop3RejectReason.MessageDeleted);
            return false;
        }
        index = (int)number - 1;
        return true;
    }

    private void Listing(ReadOnlySpan<byte> arguments, bool uidl)
    {
        if (uidl)
        {
            _uidls ??= BuildUidls(); // before any reply line: a bad formatter costs the command, not the framing
        }
        if (!arguments.IsEmpty)
        {
            if (TryMessage(arguments, out var index))
            {
                IO.Write("+OK "u8);
                WriteListing(index, uidl);
                Success();
            }
            return;
        }
        IO.Write("+OK\r\n"u8);
        for (var i = 0; i < _messages.Count; i++)
        {
            if (!_deleted[i])
            {
                WriteListing(i, uidl);
            }
        }
        IO.Write(".\r\n"u8);
        Success();
    }

    // "<number> <size or unique id>" and CRLF (RFC 1939 scan and unique-id listings).
    private void WriteListing(int index, bool uidl)
    {
        var output = IO.Output;
        output.WriteNumber(index + 1);
        IO.Write(" "u8);
        if (uidl)
        {
            output.WriteAscii(_uidls![index]);
        }
        else
        {
            output.WriteNumber(_messages[index].Size);
        }
        IO.Write("\r\n"u8);
    }

    // UIDL: stable across sessions while UIDVALIDITY holds, in the configured format, checked against RFC 1939 §7
    // (1–70 characters in 0x21–0x7E) once per session.
    private string[] BuildUidls()
    {
        var format = Options.UidlFormat;
        var uidls = new string[_messages.Count];
        for (var i = 0; i < uidls.Length; i++)
        {
            var uidl = format(_uidValidity, _messages[i].Uid);
            if (!Pop3UidlFormats.IsValid(uidl))
            {
                throw new InvalidOperationException($"Pop3ServerOptions.UidlFormat gave \"{uidl}\", which is not a UIDL (RFC 1939 §7: 1 to 70 characters 0x21-0x7E).");
            }
            uidls[i] = uidl;
        }
        return uidls;
    }

    /// <summary>RETR (bodyLines null) or TOP: streams the content from the store with dot-stuffing.</summary>
    private async ValueTask<bool> SendMessageAsync(int index, long? bodyLines)
    {
        var message = _messages[index];
        Stream content;
        try
        {
            content = await _server.Store.OpenContentAsync(_user!.Login, Inbox, message.Uid, Connection.Aborted).ConfigureAwait(false);
        }
        catch (MailboxStoreException ex) when (ex.Error == MailboxStoreError.MessageNotFound)
        {
            Error(Pop3RejectReason.MessageRemoved);
            return true;
        }
        catch (IOException ex)
        {
            throw StoreUnavailable(ex);
        }
        var complete = false;
        try
        {
            await using (content.ConfigureAwait(false))
            {
                if (bodyLines is null)
                {
                    IO.Write("+OK "u8);
                    IO.Output.WriteNumber(message.Size);
                    IO.Write(" octets\r\n"u8);
                }
                else
                {
                    IO.Write("+OK\r\n"u8);
                }
                // From here on a failure cannot be answered: the session closes (see RunAsync).
                _sendingMessage = true;
                await StreamBodyAsync(content, new DotStuffer(bodyLines)).ConfigureAwait(false);
                complete = true;
            }
        }
        catch (Exception ex) when (complete && IsBackendFailure(ex))
        {
            // The reply went out whole; only closing the store's stream failed. Answering it would give this
            // command two replies and shift every later one.
            Pop3Log.StoreFailed(_logger, Connection.Id, ex);
        }
        _sendingMessage = false;
        if (bodyLines is null)
        {
            _retrieved[index] = true;
        }
        _server.Metrics.MessageSent(message.Size);
        Success();
        return true;
    }

    // Copies the content through the dot-stuffer, ending the multi-line reply.
    private async ValueTask StreamBodyAsync(Stream content, DotStuffer stuffer)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            int read;
            while ((read = await content.ReadAsync(buffer.AsMemory(0, ChunkSize), Connection.Aborted).ConfigureAwait(false)) > 0)
            {
                var more = stuffer.Write(buffer.AsSpan(0, read), IO.Output);
                // Send as we go: memory stays bounded however large the message is, while small
                // pipelined RETRs still share writes.
                if (IO.Output.UnflushedBytes > 64 * 1024)
                {
                    await IO.FlushAsync().ConfigureAwait(false);
                }
                if (!more)
                {
                    break;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        stuffer.Finish(IO.Output);
    }

    // Messages downloaded with RETR and kept get \Seen, as Dovecot does by default, so a user who also reads the
    // mailbox over IMAP sees them as read. Only at QUIT, with the deletions: a dropped session changes nothing.
    private async ValueTask MarkRetrievedSeenAsync()
    {
        if (!Options.MarkRetrievedAsSeen)
        {
            return;
        }
        List<uint>? seen = null;
        for (var i = 0; i < _messages.Count; i++)
        {
            if (_retrieved[i] && !_deleted[i] && (_messages[i].Flags & MessageFlags.Seen) == 0)
            {
                (seen ??= []).Add(_messages[i].Uid);
            }
        }
        if (seen is null)
        {
            return;
        }
        try
        {
            await _server.Store.UpdateFlagsAsync(_user!.Login, Inbox, seen, s_addSeen, cancellationToken: Connection.Aborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsStoreCallFailure(ex))
        {
            // The messages stay as they were; only the flag is missing. The deletions still go ahead.
            Pop3Log.StoreFailed(_logger, Connection.Id, ex);
        }
    }

    /// <summary>QUIT in TRANSACTION: the UPDATE state removes the messages marked deleted.</summary>
    private async ValueTask<bool> UpdateAsync()
    {
        var uids = new List<uint>();
        for (var i = 0; i < _messages.Count; i++)
        {
            if (_deleted[i])
            {
                uids.Add(_messages[i].Uid);
            }
        }
        await MarkRetrievedSeenAsync().ConfigureAwait(false);
        if (uids.Count > 0)
        {
            try
            {
                await _server.Store.ExpungeAsync(_user!.Login, Inbox, uids, cancellationToken: Connection.Aborted).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsStoreCallFailure(ex))
            {
                Pop3Log.StoreFailed(_logger, Connection.Id, ex);
                // The session ends either way, so the reply is this one, never the too-many-errors line.
                _server.Metrics.Rejected(Pop3RejectReason.DeletionFailed);
                MarkCommandRefused(nameof(Pop3RejectReason.DeletionFailed));
                IO.Write(Pop3Replies.For(Pop3RejectReason.DeletionFailed));
                return false;
            }
        }
        // Release the maildrop before the final +OK, so a client that reconnects at once is not told IN-USE.
        _lock?.Dispose();
        Pop3Log.Updated(_logger, Connection.Id, uids.Count);
        IO.Write("+OK "u8);
        IO.Output.WriteAscii(Options.ServerName);
        IO.Write(" POP3 server signing off ("u8);
        IO.Output.WriteNumber(uids.Count);
        IO.Write(" message(s) deleted)\r\n"u8);
        return false;
    }
}
