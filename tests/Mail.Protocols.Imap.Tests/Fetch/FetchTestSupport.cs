using System.IO.Pipelines;
using System.Text;
using Mail.Protocols.Imap.Fetch;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Fetch;

/// <summary>Runs the FETCH writer over a message held in the test and returns the exact octets it wrote.</summary>
internal static class FetchTestSupport
{
    public static readonly DateTimeOffset Date = new(1996, 7, 17, 2, 44, 25, TimeSpan.FromHours(-7));

    public static byte[] Crlf(string text) => Encoding.Latin1.GetBytes(text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal));

    public static MessageInfo Info(long size, MessageFlags flags = MessageFlags.None, string[]? keywords = null, uint uid = 7, ulong modSeq = 12) =>
        new(uid, flags, keywords ?? [], Date, size, modSeq);

    public static MessageSummary Parse(byte[] message) => MessageSummaryParser.Parse(new MemoryStream(message));

    public static Task<(FetchOutcome Outcome, byte[] Bytes)> FetchAsync(byte[] message, params FetchItem[] items) =>
        FetchAsync(message, FetchRequest.Create(items));

    public static async Task<(FetchOutcome Outcome, byte[] Bytes)> FetchAsync(byte[] message, FetchRequest request, MessageInfo? info = null, bool seekable = true, uint sequenceNumber = 1)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var outcome = await FetchResponseWriter.WriteAsync(
            pipe.Writer, sequenceNumber, info ?? Info(message.Length), Parse(message),
            _ => ValueTask.FromResult<Stream>(seekable ? new MemoryStream(message, writable: false) : new ForwardOnlyStream(message)),
            request);
        await pipe.Writer.CompleteAsync();
        var result = await pipe.Reader.ReadAtLeastAsync(int.MaxValue);
        var bytes = System.Buffers.BuffersExtensions.ToArray(result.Buffer);
        pipe.Reader.AdvanceTo(result.Buffer.End);
        return (outcome, bytes);
    }

    public static async Task<string> FetchTextAsync(byte[] message, params FetchItem[] items) =>
        Encoding.Latin1.GetString((await FetchAsync(message, items)).Bytes);

    public static FetchItem Body(FetchSection section, long? start = null, long? length = null, bool peek = true) =>
        new(FetchItemKind.BodySection, section, peek, start, length);

    public static FetchItem Binary(params uint[] parts) => new(FetchItemKind.Binary, FetchSection.Part(parts), Peek: true);

    public static FetchSection Section(SectionText text, uint[] parts, params string[] fields) => new([.. parts], text, [.. fields]);

    /// <summary>The expected response to one item whose value is a literal of <paramref name="octets"/>.</summary>
    public static string Literal(string name, string octets) =>
        $"* 1 FETCH ({name} {{{Encoding.Latin1.GetByteCount(octets)}}}\r\n{octets})\r\n";

    /// <summary>The same with a literal8.</summary>
    public static string Literal8(string name, string octets) =>
        $"* 1 FETCH ({name} ~{{{Encoding.Latin1.GetByteCount(octets)}}}\r\n{octets})\r\n";

    /// <summary>A stream that cannot seek and returns at most 5 octets a read, as a network-backed store might.</summary>
    public sealed class ForwardOnlyStream(byte[] content) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            var count = Math.Min(Math.Min(buffer.Length, 5), content.Length - _position);
            content.AsSpan(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
