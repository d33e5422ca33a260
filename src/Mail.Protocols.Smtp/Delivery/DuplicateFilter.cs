using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using Mail.Protocols.Smtp.Telemetry;
using Mail.Protocols.Users;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Smtp.Delivery;

/// <summary>
/// Remembers, for a while, which relayed messages each local user already got, so a message a sending MTA sends
/// again (it crashed after our 250 and before it recorded the delivery, or lost the connection at that moment)
/// is accepted but not stored twice. SMTP has no way to say "this is a retry", so a resend is recognised as the
/// same octets (everything after our own Received header) with the same reverse path from the same client
/// address. Only relayed mail counts: a message without a Received header and a Message-ID (a client submitting
/// directly) is never suppressed. Keying on all of that, not on the trace fields alone, means a stranger who
/// copies a message's Received header and Message-ID into mail of their own cannot get the real one dropped: to
/// suppress a copy, the earlier delivery must have been that very message, stored for that user. In memory: a
/// restart forgets, so this narrows duplicates; it cannot promise none.
/// </summary>
internal sealed class DuplicateFilter(TimeSpan window, int capacity, TimeProvider time)
{
    // The header block is read at most this far when looking for the two fields.
    private const int MaxHeaderOctets = 64 * 1024;
    private readonly long _windowTicks = (long)(window.TotalSeconds * time.TimestampFrequency);
    // (lower-cased user, message) → when it stops counting as delivered, in the clock's monotonic ticks.
    private readonly Dictionary<(string User, Key Key), long> _seen = [];
    private readonly Queue<((string User, Key Key) Entry, long Expires)> _expiry = new();
    // Deliveries of a pair in progress: a second one waits for the first's outcome rather than racing it.
    private readonly Dictionary<(string User, Key Key), TaskCompletionSource> _pending = [];

    /// <summary>A message's identity: SHA-256 of the client's address, the reverse path and the content.</summary>
    public readonly record struct Key(UInt128 High, UInt128 Low);

    /// <summary>The filter the options ask for, or null when duplicate suppression is off.</summary>
    public static DuplicateFilter? Create(SmtpServerOptions options, TimeProvider time) =>
        options.DuplicateSuppressionWindow > TimeSpan.Zero && options.DuplicateSuppressionCapacity > 0
            ? new DuplicateFilter(options.DuplicateSuppressionWindow, options.DuplicateSuppressionCapacity, time)
            : null;

    /// <summary>
    /// The identity of the message in <paramref name="content"/> from <paramref name="offset"/> on (after our own
    /// Received header), received from <paramref name="client"/> with <paramref name="reversePath"/>; null when
    /// its header block (read up to 64 KiB) has no Received header or no Message-ID, so it is not relayed mail.
    /// </summary>
    public static async ValueTask<Key?> KeyOfAsync(Stream content, long offset, string reversePath, IPAddress? client, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxHeaderOctets);
        try
        {
            content.Position = offset;
            var headerLength = await ReadHeaderBlockAsync(content, buffer, cancellationToken).ConfigureAwait(false);
            if (!HasTraceFields(buffer.AsSpan(0, headerLength)))
            {
                return null;
            }
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            // Each part with its length first, so no two envelopes run together into the same octets.
            AppendPart(sha, client is null ? [] : (client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client).GetAddressBytes());
            AppendPart(sha, System.Text.Encoding.UTF8.GetBytes(reversePath));
            // The header octets already read, then the rest of the message from where that read stopped.
            sha.AppendData(buffer, 0, headerLength);
            int read;
            while ((read = await content.ReadAsync(buffer.AsMemory(0, MaxHeaderOctets), cancellationToken).ConfigureAwait(false)) > 0)
            {
                sha.AppendData(buffer, 0, read);
            }
            Span<byte> hash = stackalloc byte[32];
            sha.GetHashAndReset(hash);
            return new Key(
                new UInt128(BitConverter.ToUInt64(hash), BitConverter.ToUInt64(hash[8..])),
                new UInt128(BitConverter.ToUInt64(hash[16..]), BitConverter.ToUInt64(hash[24..])));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void AppendPart(IncrementalHash sha, ReadOnlySpan<byte> part)
    {
        Span<byte> length = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, part.Length);
        sha.AppendData(length);
        sha.AppendData(part);
    }

    // Reads the header block into `buffer` (up to 64 KiB, perhaps a little of the body) and returns the octets read.
    private static async ValueTask<int> ReadHeaderBlockAsync(Stream content, byte[] buffer, CancellationToken cancellationToken)
    {
        // Read in small steps until the header block's blank line is in: most headers fit the first step.
        var length = 0;
        int read;
        while (length < MaxHeaderOctets
            && (read = await content.ReadAsync(buffer.AsMemory(length, Math.Min(8192, MaxHeaderOctets - length)), cancellationToken).ConfigureAwait(false)) > 0)
        {
            var searchFrom = Math.Max(0, length - 2);
            length += read;
            var fresh = buffer.AsSpan(searchFrom, length - searchFrom);
            if (fresh.IndexOf("\n\r\n"u8) >= 0 || fresh.IndexOf("\n\n"u8) >= 0)
            {
                break;
            }
        }
        return length;
    }

    // Whether the header block has both a Received header and a Message-ID.
    private static bool HasTraceFields(ReadOnlySpan<byte> headers)
    {
        bool received = false, messageId = false;
        var position = 0;
        while (position < headers.Length && !(received && messageId))
        {
            var end = LineEnd(headers, position);
            if (end < 0 || end == position || headers[position] is (byte)'\r' or (byte)'\n')
            {
                break; // the blank line that ends the header block, or a block cut off by the limit
            }
            // A field runs on over the continuation lines that start with white space.
            while (end < headers.Length && headers[end] is (byte)' ' or (byte)'\t')
            {
                var next = LineEnd(headers, end);
                if (next < 0)
                {
                    return false;
                }
                end = next;
            }
            var field = headers[position..end];
            received |= HasName(field, "received:"u8);
            messageId |= HasName(field, "message-id:"u8);
            position = end;
        }
        return received && messageId;
    }

    private static bool HasName(ReadOnlySpan<byte> field, ReadOnlySpan<byte> name) =>
        field.Length >= name.Length && System.Text.Ascii.EqualsIgnoreCase(field[..name.Length], name);

    // The index just past the line that starts at `start` (its LF), or -1 when the line is not complete.
    private static int LineEnd(ReadOnlySpan<byte> text, int start)
    {
        var lf = text[start..].IndexOf((byte)'\n');
        return lf < 0 ? -1 : start + lf + 1;
    }

    /// <summary>
    /// Claims the delivery of this message to <paramref name="user"/>: false when the user already got it within
    /// the window (a duplicate: do not store it), true when the caller should store it and then call
    /// <see cref="Complete"/>. While another delivery of the same pair is in progress, waits for its outcome, so a
    /// copy is neither stored twice nor lost when the first attempt fails (logged as event 1016 on
    /// <paramref name="logger"/>, for the delivery of <paramref name="queueId"/>).
    /// </summary>
    public async ValueTask<bool> ClaimAsync(string user, Key key, ILogger logger, string queueId, CancellationToken cancellationToken)
    {
        var entry = (UserName.TryNormalize(user, out var name) ? name : user, key);
        while (true)
        {
            Task inProgress;
            lock (_seen)
            {
                Expire();
                if (_seen.ContainsKey(entry))
                {
                    return false;
                }
                if (!_pending.TryGetValue(entry, out var other))
                {
                    _pending[entry] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    return true;
                }
                inProgress = other.Task;
            }
            SmtpLog.DuplicateInProgress(logger, queueId, Mail.Protocols.Telemetry.PersonalData.ForLog(user));
            await inProgress.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Ends a claim: remembers the pair if the message was <paramref name="stored"/>, and wakes waiting claims.</summary>
    public void Complete(string user, Key key, bool stored)
    {
        var entry = (UserName.TryNormalize(user, out var name) ? name : user, key);
        TaskCompletionSource? waiting;
        lock (_seen)
        {
            _pending.Remove(entry, out waiting);
            if (stored)
            {
                Expire();
                var expires = time.GetTimestamp() + _windowTicks;
                _seen[entry] = expires;
                _expiry.Enqueue((entry, expires));
                // Bounded memory: past the capacity the oldest go first, window or not.
                while (_seen.Count > capacity && _expiry.TryDequeue(out var oldest))
                {
                    RemoveIfCurrent(oldest.Entry, oldest.Expires);
                }
            }
        }
        waiting?.SetResult();
    }

    private void Expire()
    {
        var now = time.GetTimestamp();
        while (_expiry.TryPeek(out var next) && next.Expires <= now)
        {
            _expiry.Dequeue();
            RemoveIfCurrent(next.Entry, next.Expires);
        }
    }

    // A key recorded again later has a newer expiry in the table; only the matching queue item removes it.
    private void RemoveIfCurrent((string User, Key Key) entry, long expires)
    {
        if (_seen.TryGetValue(entry, out var current) && current == expires)
        {
            _seen.Remove(entry);
        }
    }
}
