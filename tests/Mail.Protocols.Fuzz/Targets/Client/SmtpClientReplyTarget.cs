using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using Mail.Protocols.Smtp.Client;
using Mail.Protocols.Smtp.Delivery;

namespace Mail.Protocols.Fuzz.Targets.Client;

/// <summary>
/// What a server sends the SMTP client (<see cref="SmtpReplyReader"/>), read reply after reply as the connection's pipe hands
/// it over. Properties: only <see cref="SmtpClientException"/> is thrown, and after it nothing more is read (the connection is
/// dropped); a reply has a code from 200 to 599, 1 to <see cref="SmtpReplyReader.MaxLines"/> lines of at most
/// <see cref="SmtpReplyReader.MaxLineLength"/> octets; the replies and the point of failure do not depend on where the input
/// is split (all at once, or in chunks of sizes drawn from the input); a reply written back as lines reads as the same reply;
/// and the RFC 3463 status a DSN takes from it (<see cref="DeliveryStatusNotification.StatusCode"/>) is ASCII
/// <c>class.subject.detail</c> of the class the action asks for.
/// </summary>
internal sealed partial class SmtpClientReplyTarget : IFuzzTarget
{
    private const string Host = "mx.example.test";

    public string Name => "SmtpClientReply";

    public void Run(ReadOnlySpan<byte> input)
    {
        var bytes = input.ToArray();
        var whole = Read(bytes, [bytes.Length]);
        var chunked = Read(bytes, ChunkSizes(bytes));
        Fuzz.Equal(whole, chunked, "the replies read in chunks");
        foreach (var reply in whole.Replies)
        {
            Fuzz.Check(reply.Code is >= 200 and <= 599, $"reply code {reply.Code}");
            Fuzz.Check(reply.Lines.Count is > 0 and <= SmtpReplyReader.MaxLines, $"a reply of {reply.Lines.Count} lines");
            Fuzz.Check(reply.Lines.All(l => Encoding.UTF8.GetByteCount(l) <= SmtpReplyReader.MaxLineLength), "a line over the length limit");
            var wire = new StringBuilder();
            for (var i = 0; i < reply.Lines.Count; i++)
            {
                wire.Append(reply.Code).Append(i < reply.Lines.Count - 1 ? '-' : ' ').Append(reply.Lines[i]).Append("\r\n");
            }

            // Text with a line break inside (a bare CR) or U+FFFD for an invalid octet is not written back as it came.
            if (!reply.Lines.Any(l => l.Contains('\r', StringComparison.Ordinal) || l.Contains('\uFFFD', StringComparison.Ordinal)))
            {
                var again = Read(Encoding.UTF8.GetBytes(wire.ToString()), [int.MaxValue]);
                Fuzz.Check(again.Error is null && again.Replies.Count == 1, "the reply written back does not read as one reply");
                Fuzz.Equal(reply.ToString(), again.Replies[0].ToString(), "the reply written back");
                Fuzz.Check(again.Replies[0].Lines.SequenceEqual(reply.Lines), "the reply's lines written back");
            }

            foreach (var action in new[] { DsnAction.Failed, DsnAction.Delayed, DsnAction.Delivered })
            {
                var status = DeliveryStatusNotification.StatusCode(reply.ToString(), action);
                var wanted = action switch { DsnAction.Failed => '5', DsnAction.Delayed => '4', _ => '2' };
                Fuzz.Check(StatusCode().IsMatch(status) && status[0] == wanted, $"the DSN status \"{status}\" for {action}");
            }
        }
    }

    private static Outcome Read(byte[] input, IEnumerable<int> chunks)
    {
        var reader = new SmtpReplyReader();
        var replies = new List<SmtpServerReply>();
        var pending = new List<byte>();
        var offset = 0;
        foreach (var size in chunks.Append(int.MaxValue))
        {
            var take = Math.Min(size, input.Length - offset);
            pending.AddRange(input.AsSpan(offset, take));
            offset += take;
            try
            {
                while (true)
                {
                    var buffer = pending.ToArray();
                    var sequence = new SequenceReader<byte>(new ReadOnlySequence<byte>(buffer));
                    var done = reader.TryRead(ref sequence, Host, out var reply);
                    pending.RemoveRange(0, (int)sequence.Consumed);
                    if (!done)
                    {
                        break;
                    }

                    replies.Add(reply!);
                }
            }
            catch (SmtpClientException ex)
            {
                return new Outcome(replies, ex.Message);
            }

            if (offset == input.Length)
            {
                break;
            }
        }

        return new Outcome(replies, null);
    }

    // Chunk sizes from 1 to 16, drawn from the input's octets in turn.
    private static IEnumerable<int> ChunkSizes(byte[] input)
    {
        for (var i = 0; ; i++)
        {
            yield return input.Length == 0 ? 1 : (input[i % input.Length] % 16) + 1;
        }
    }

    [GeneratedRegex("^[245]\\.[0-9]{1,3}\\.[0-9]{1,3}$", RegexOptions.CultureInvariant)]
    private static partial Regex StatusCode();

    /// <summary>The replies read, then the failure if there was one; equal when both are (lines compared one by one).</summary>
    private sealed record Outcome(List<SmtpServerReply> Replies, string? Error)
    {
        public bool Equals(Outcome? other) =>
            other is not null && Error == other.Error && Replies.Count == other.Replies.Count
            && Replies.Zip(other.Replies).All(pair => pair.First.Code == pair.Second.Code && pair.First.Lines.SequenceEqual(pair.Second.Lines));

        public override int GetHashCode() => HashCode.Combine(Error, Replies.Count);

        public override string ToString() => $"{Replies.Count} replies [{string.Join(" | ", Replies)}], error {Error ?? "none"}";
    }
}
