using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.Smtp.Data;
using Mail.Protocols.Smtp.Delivery;
using Mail.Protocols.Smtp.Protocol;
using Mail.Protocols.Smtp.Telemetry;
using Mail.Protocols.Text;

namespace Mail.Protocols.Smtp.Session;

// DATA and BDAT: the message streams from the pipe through the unstuffer (or the chunk counter) into a
// spool, never into one big buffer; it is stored only once it is complete, then the reply is sent.
internal sealed partial class SmtpSession
{
    private LiteralReadOptions? _dataReadOptions;

    // DATA and BDAT: the data timeout per wait, and the minimum data rate over the message (DATA) or chunk (BDAT).
    private LiteralReadOptions DataReadOptions => _dataReadOptions ??= Options.DataReadOptions(Options.DataTimeout);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> DataAsync(bool noArguments)
    {
        if (!noArguments)
        {
            Reject(SmtpRejectReason.SyntaxError);
            return true;
        }
        if (CheckReadyForData() is { } reason)
        {
            Reject(reason);
            return true;
        }
        var transaction = _transaction!;
        if (transaction.UsedBdat)
        {
            Reject(SmtpRejectReason.BdatAfterData);
            return true;
        }
        if (transaction.Body == Queue.MessageBodyType.BinaryMime)
        {
            // RFC 3030 §3: DATA after BODY=BINARYMIME gets 503.
            Reject(SmtpRejectReason.DataAfterBinaryMime);
            return true;
        }
        Write(SmtpReplies.StartMailInput);
        await FlushAsync().ConfigureAwait(false);
        BeginMessage(transaction);
        var spool = transaction.Spool!;

        var unstuffer = new DotUnstuffer(Options.BareLineEndings == BareLineEndingPolicy.Normalize);
        var done = false;
        _inMessageData = true;
        // The same deadline as a BDAT chunk's, counted over the octets of the whole message as they came on the wire.
        var deadline = new DataRateDeadline(Connection, DataReadOptions, TimeoutReason.MessageData);
        long received = 0;
        while (!done)
        {
            var result = await ReadDataAsync(deadline, received).ConfigureAwait(false);
            if (result is not { } read)
            {
                return false;
            }
            var buffer = read.Buffer;
            long used = 0;
            foreach (var segment in buffer)
            {
                done = unstuffer.Process(segment.Span, spool, out var consumed);
                used += consumed;
                if (done)
                {
                    break;
                }
            }
            CheckSize(transaction);
            received += used;
            if (done)
            {
                IO.Input.AdvanceTo(buffer.GetPosition(used));
            }
            else
            {
                IO.Input.AdvanceTo(buffer.End);
                if (read.IsCompleted)
                {
                    SmtpLog.ClosedMidData(_logger, Connection.Id);
                    AbandonCommand();
                    ResetTransaction();
                    return false;
                }
            }
        }

        _inMessageData = false;
        await FinishMessageAsync(transaction, unstuffer.SawBareLineEnding).ConfigureAwait(false);
        return !_hookEndedSession;
    }

    private async ValueTask<bool> BdatAsync(byte[] arguments)
    {
        // bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CR LF (RFC 3030 §2)
        var args = arguments.AsSpan();
        var space = args.IndexOf((byte)' ');
        var sizeText = space < 0 ? args : args[..space];
        var last = space >= 0 && Ascii.EqualsIgnoreCase(args[(space + 1)..].Trim((byte)' '), "LAST"u8);
        if (!Utf8Parser.TryParse(sizeText, out long chunkSize, out var used) || used != sizeText.Length || chunkSize < 0)
        {
            // Without a valid size the chunk's end is unknown: the rest is read as commands, as RFC 3030 allows.
            Reject(SmtpRejectReason.SyntaxError);
            return true;
        }
        var badMarker = space >= 0 && !last;

        var refusal = badMarker ? SmtpRejectReason.SyntaxError : CheckReadyForData();
        var transaction = _transaction;
        if (refusal is null && transaction is not null && transaction.Spool is null)
        {
            BeginMessage(transaction);
            transaction.UsedBdat = true;
        }
        var spool = refusal is null ? transaction!.Spool! : null;

        // The chunk is read in full even when it is refused, so the command stream stays in step. It is a
        // length-delimited read of the core: exactly chunkSize octets, under the data timeout per wait and the minimum
        // data rate over the chunk.
        var chunk = IO.BeginLiteral(chunkSize, DataReadOptions);
        _inMessageData = true;
        try
        {
            while (chunk.Remaining > 0)
            {
                var piece = await chunk.ReadAsync().ConfigureAwait(false);
                if (spool is not null)
                {
                    foreach (var segment in piece)
                    {
                        if (transaction!.Body == Queue.MessageBodyType.BinaryMime)
                        {
                            spool.Append(segment.Span);
                        }
                        else if (Options.BareLineEndings == BareLineEndingPolicy.Normalize)
                        {
                            // As DATA does under this policy: a bare CR or LF is stored as CRLF.
                            transaction.BareLineEndings.CopyNormalized(segment.Span, spool);
                        }
                        else
                        {
                            spool.Append(segment.Span);
                            transaction.BareLineEndings.Scan(segment.Span);
                        }
                    }
                    CheckSize(transaction!);
                }
                chunk.Advance(piece.Length);
            }
        }
        catch (LiteralReadException ex)
        {
            if (ex.Failure == LiteralReadFailure.TimedOut)
            {
                ResetTransaction();
                OnTimedOut();
                return false;
            }
            SmtpLog.ClosedMidData(_logger, Connection.Id);
            AbandonCommand();
            ResetTransaction();
            return false;
        }

        _inMessageData = false;
        if (refusal is { } reason)
        {
            Reject(reason);
            return true;
        }
        if (!last)
        {
            Write("250 2.0.0 "u8);
            IO.Output.WriteNumber(chunkSize);
            Write(" octets received\r\n"u8);
            Success();
            return true;
        }
        if (Options.BareLineEndings == BareLineEndingPolicy.Normalize && transaction!.Body != Queue.MessageBodyType.BinaryMime)
        {
            transaction.BareLineEndings.FinishNormalized(transaction.Spool!);
        }
        await FinishMessageAsync(transaction!, transaction!.BareLineEndings.Finish()).ConfigureAwait(false);
        return !_hookEndedSession;
    }

    private SmtpRejectReason? CheckReadyForData() =>
        _heloName is null ? SmtpRejectReason.NeedHelo
        : _transaction is null ? SmtpRejectReason.NeedMail
        : _transaction.Recipients.Count == 0 ? SmtpRejectReason.NeedRecipient
        : null;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult?> ReadDataAsync(DataRateDeadline deadline, long received)
    {
        while (true)
        {
            if (!IO.Input.TryRead(out var result))
            {
                deadline.Arm(received);
                result = await IO.Input.ReadAsync(Connection.Aborted).ConfigureAwait(false);
                Connection.ClearTimeout();
            }
            if (!result.IsCanceled)
            {
                return result;
            }
            if (Connection.TimedOut != TimeoutReason.None)
            {
                ResetTransaction();
                OnTimedOut();
                return null;
            }
            // A shutdown request during DATA waits for the message to finish (graceful).
        }
    }

    private void BeginMessage(Transaction transaction)
    {
        transaction.QueueId = QueueIds.Next();
        transaction.Spool = new MessageSpool(_server.SpoolPath);
        transaction.HeaderOctets = WriteReceivedHeader(transaction, transaction.Spool);
    }

    private void CheckSize(Transaction transaction)
    {
        var spool = transaction.Spool!;
        if (!spool.Discarding && spool.Length - transaction.HeaderOctets > Options.MaxMessageSize)
        {
            transaction.TooLarge = true;
            spool.Discarding = true;
        }
    }

    // The end of the data (DATA's terminator or BDAT LAST): refuse, or store and answer 250. While something listens to
    // the SMTP activity source, inside the transaction's span, whose id goes with the envelope into the queue, where the
    // delivery agent's attempts continue the trace.
    private ValueTask FinishMessageAsync(Transaction transaction, bool sawBareLineEnding)
    {
        _transaction = null;
        var activity = SmtpTracing.Smtp.StartActivity("smtp.message", ActivityKind.Server);
        return activity is null ? FinishMessageCoreAsync(transaction, sawBareLineEnding, null) : FinishTracedMessageAsync(transaction, sawBareLineEnding, activity);
    }

    private async ValueTask FinishTracedMessageAsync(Transaction transaction, bool sawBareLineEnding, Activity activity)
    {
        using (activity)
        {
            _rejectedWith = null;
            _messageStored = false;
            activity.SetTag("mail.smtp.queue_id", transaction.QueueId);
            activity.SetTag("mail.smtp.recipients", transaction.Recipients.Count);
            string? failure = null;
            try
            {
                await FinishMessageCoreAsync(transaction, sawBareLineEnding, activity).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                failure = ex.GetType().Name;
                throw;
            }
            finally
            {
                activity.SetTag("mail.smtp.outcome", _messageStored ? "accepted" : "refused");
                if (!_messageStored)
                {
                    // The refusal's name, or the failure's type, or a hook's own reply.
                    activity.SetTag("error.type", _rejectedWith?.ToString() ?? failure ?? "HookReply");
                    activity.SetStatus(ActivityStatusCode.Error);
                }
            }
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FinishMessageCoreAsync(Transaction transaction, bool sawBareLineEnding, Activity? activity)
    {
        using (transaction)
        {
            if (transaction.TooLarge)
            {
                SmtpLog.MessageTooLarge(_logger, Connection.Id);
                Reject(SmtpRejectReason.MessageTooLarge);
                return;
            }
            if (sawBareLineEnding && Options.BareLineEndings == BareLineEndingPolicy.Reject)
            {
                SmtpLog.BareLineEnding(_logger, Connection.Id);
                Reject(SmtpRejectReason.BareLineEnding);
                return;
            }
            var spool = transaction.Spool!;
            if (StartsWithWhiteSpace(spool, transaction.HeaderOctets))
            {
                // A header section cannot start with white space: its first line would continue our Received field.
                Reject(SmtpRejectReason.HeaderStartsWithWhiteSpace);
                return;
            }
            if (ReceivedFieldCounter.Count(spool, Options.MaxReceivedFields) > Options.MaxReceivedFields)
            {
                SmtpLog.TooManyHops(_logger, Connection.Id, Options.MaxReceivedFields);
                Reject(SmtpRejectReason.TooManyHops);
                return;
            }
            // The W3C traceparent, the only form a queue entry carries (an application may make hierarchical ids the default).
            var envelope = transaction.ToEnvelope(Connection.TimeProvider.GetUtcNow(), activity?.IdFormat == ActivityIdFormat.W3C ? activity.Id : null);
            spool.Position = 0;
            if (Hooks is { } hooks && await hooks.OnMessageAsync(SessionInfo, envelope, spool, Connection.Aborted).ConfigureAwait(false) is { } hookReply)
            {
                ReplyFromHook(hookReply);
                return;
            }
            var duplicateKey = _server.Delivery.SuppressesDuplicates && transaction.HasLocalRecipient
                ? await DuplicateFilter.KeyOfAsync(spool, transaction.HeaderOctets, envelope.ReversePath, (Connection.RemoteEndPoint as IPEndPoint)?.Address, Connection.Aborted).ConfigureAwait(false)
                : null;
            var report = _verbose ? new List<string>() : null;
            var outcome = await _server.Delivery.DeliverAsync(envelope, transaction.Recipients, spool, transaction.QueueId!, Connection.Aborted, duplicateKey, report).ConfigureAwait(false);
            if (outcome is { } failure)
            {
                Reject(failure);
                return;
            }
            _messageStored = true; // stored and queued: the message is the server's now, whatever happens to the connection
            var size = spool.Length - transaction.HeaderOctets;
            _server.Metrics.MessageReceived(size);
            activity?.SetTag("mail.message.size", size);
            if (_user is not null)
            {
                Options.RateLimits?.Sent(_user.Login);
            }
            SmtpLog.MessageAccepted(_logger, Connection.Id, transaction.QueueId!, size, transaction.Recipients.Count);
            if (Hooks is { } acceptedHooks)
            {
                await TellAcceptedAsync(acceptedHooks, envelope, transaction.QueueId!, spool).ConfigureAwait(false);
            }
            if (report is not null)
            {
                WriteVerboseReport(report);
            }
            Write("250 2.0.0 "u8);
            WriteAscii(transaction.QueueId!);
            Write(SmtpReplies.MessageAcceptedSuffix);
            Success();
        }
    }

    // The message is the server's now: a failing hook cannot take that back, so its exception is logged, not thrown.
    private async ValueTask TellAcceptedAsync(SmtpHooks hooks, Queue.QueueEnvelope envelope, string queueId, MessageSpool spool)
    {
        try
        {
            spool.Position = 0;
            await hooks.OnMessageAcceptedAsync(SessionInfo, envelope, queueId, spool, Connection.Aborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !Connection.Aborted.IsCancellationRequested)
        {
            SmtpLog.AcceptedHookFailed(_logger, Connection.Id, queueId, e);
        }
    }

    // Whether the client's content (after our Received header) starts with a space or a TAB.
    private static bool StartsWithWhiteSpace(MessageSpool spool, long contentStart)
    {
        if (spool.Length <= contentStart)
        {
            return false;
        }
        Span<byte> first = stackalloc byte[1];
        spool.Position = contentStart;
        return spool.Read(first) == 1 && first[0] is (byte)' ' or (byte)'\t';
    }

    // RFC 5321 §4.4 trace header; "with" keywords from RFC 3848 and RFC 6531. Written as octets straight into the spool
    // (no string per message: the session's part is cached, the date formatted in place). Returns the octets written.
    private int WriteReceivedHeader(Transaction transaction, MessageSpool spool)
    {
        // HELO sessions are plain "SMTP"; the S and A suffixes exist only for the ESMTP forms.
        var protocol = !transaction.SmtpUtf8 && !_esmtp
            ? "SMTP"u8
            : s_withKeywords[(transaction.SmtpUtf8 ? 4 : 0) | (Connection.IsSecure ? 2 : 0) | (_user is not null ? 1 : 0)];
        var prefix = ReceivedPrefix();
        var forAddress = transaction.Recipients.Count == 1 ? HeaderText(transaction.Recipients[0].Recipient.Address) : null;
        var buffer = ArrayPool<byte>.Shared.Rent(prefix.Length + 32 + transaction.QueueId!.Length + MessageDate.Length
            + (forAddress is null ? 0 : Encoding.UTF8.GetMaxByteCount(forAddress.Length)));
        var header = buffer.AsSpan();
        var length = Put(header, 0, prefix);
        length = Put(header, length, protocol);
        length = Put(header, length, " id "u8);
        length += Encoding.ASCII.GetBytes(transaction.QueueId, header[length..]);
        if (forAddress is not null)
        {
            length = Put(header, length, "\r\n\tfor <"u8);
            length += Encoding.UTF8.GetBytes(forAddress, header[length..]);
            length = Put(header, length, ">"u8);
        }
        length = Put(header, length, ";\r\n\t"u8);
        MessageDate.Write(Connection.TimeProvider.GetLocalNow(), header[length..]);
        length = Put(header, length + MessageDate.Length, "\r\n"u8);
        spool.Append(header[..length]);
        ArrayPool<byte>.Shared.Return(buffer);
        return length;
    }

    private static int Put(Span<byte> destination, int at, ReadOnlySpan<byte> octets)
    {
        octets.CopyTo(destination[at..]);
        return at + octets.Length;
    }

    private static readonly byte[][] s_withKeywords = [.. new[] { "ESMTP", "ESMTPA", "ESMTPS", "ESMTPSA", "UTF8SMTP", "UTF8SMTPA", "UTF8SMTPS", "UTF8SMTPSA" }
        .Select(Encoding.ASCII.GetBytes)];

    // "Received: from <helo> ([<ip>])\r\n\tby <host> (Mail.Protocols) with ", in UTF-8: fixed for a session until the next HELO/EHLO.
    private byte[] ReceivedPrefix()
    {
        if (_receivedPrefix is { } cached && ReferenceEquals(_receivedPrefixHelo, _heloName))
        {
            return cached;
        }
        var remote = Connection.RemoteEndPoint as IPEndPoint;
        var address = remote is null ? "unknown" : remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4().ToString() : remote.Address.ToString();
        var literal = remote?.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !remote.Address.IsIPv4MappedToIPv6 ? "IPv6:" + address : address;
        _receivedPrefixHelo = _heloName;
        // A ";" in the name would end the field's tokens (RFC 5322 §3.6.7) and make what follows the hop's date-time.
        var helo = HeaderText(_heloName ?? "unknown").Replace(';', '?');
        return _receivedPrefix = Encoding.UTF8.GetBytes($"Received: from {helo} ([{literal}])\r\n\tby {Options.ServerName} (Mail.Protocols) with ");
    }

    // Client-supplied names go into a header: no line breaks (nor controls, NEL, or the Unicode line and paragraph
    // separators some readers break lines at; an SMTPUTF8 address may hold them), no parentheses that would unbalance the comment.
    private static string HeaderText(string text) =>
        text.AsSpan().ContainsAny(s_headerBreaking) ? string.Create(text.Length, text, static (chars, source) =>
        {
            source.AsSpan().CopyTo(chars);
            for (var i = 0; i < chars.Length; i++)
            {
                if (s_headerBreaking.Contains(chars[i]))
                {
                    chars[i] = '?';
                }
            }
        }) : text;

    private static readonly System.Buffers.SearchValues<char> s_headerBreaking = System.Buffers.SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Select(c => (char)c), .. Enumerable.Range(0x7F, 0x21).Select(c => (char)c), '(', ')', '\u2028', '\u2029']);
}
