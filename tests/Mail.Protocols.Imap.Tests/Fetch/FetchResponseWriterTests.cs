using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Mail.Protocols.Imap.Fetch;
using Mail.Protocols.Storage;
using static Mail.Protocols.Imap.Tests.Fetch.FetchTestSupport;

namespace Mail.Protocols.Imap.Tests.Fetch;

/// <summary>The per-message entry point: item order, UID and MODSEQ added by the request, what the request needs, streaming.</summary>
public sealed class FetchResponseWriterTests
{
    private static readonly byte[] s_message = Crlf("Subject: hi\nContent-Type: text/plain\n\nHello\n");

    [Fact]
    public async Task Items_are_written_in_the_order_asked()
    {
        var request = FetchRequest.Create([new(FetchItemKind.Rfc822Size), new(FetchItemKind.Flags), new(FetchItemKind.Uid), new(FetchItemKind.InternalDate)]);
        var (outcome, bytes) = await FetchAsync(s_message, request, Info(s_message.Length, MessageFlags.Seen | MessageFlags.Flagged, ["$Work"], uid: 4827313), sequenceNumber: 12);
        Assert.Equal(FetchOutcome.Written, outcome);
        Assert.Equal($"* 12 FETCH (RFC822.SIZE {s_message.Length} FLAGS (\\Flagged \\Seen $Work) UID 4827313 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\")\r\n", Encoding.Latin1.GetString(bytes));
    }

    // RFC 9051 §6.4.9: UID FETCH returns UID whether asked or not; RFC 7162 §3.1.4.1: CHANGEDSINCE returns MODSEQ.
    [Fact]
    public async Task Uid_fetch_adds_uid_first_and_changedsince_adds_modseq_last()
    {
        var request = FetchRequest.Create([new(FetchItemKind.Flags)], isUid: true, changedSince: 11);
        Assert.Equal([FetchItemKind.Uid, FetchItemKind.Flags, FetchItemKind.ModSeq], request.Items.Select(i => i.Kind));
        var (_, bytes) = await FetchAsync(s_message, request, Info(s_message.Length, uid: 7, modSeq: 12), sequenceNumber: 2);
        Assert.Equal("* 2 FETCH (UID 7 FLAGS () MODSEQ (12))\r\n", Encoding.Latin1.GetString(bytes));

        var asked = FetchRequest.Create([new(FetchItemKind.Flags), new(FetchItemKind.ModSeq), new(FetchItemKind.Uid)], isUid: true, changedSince: 3);
        Assert.Equal([FetchItemKind.Flags, FetchItemKind.ModSeq, FetchItemKind.Uid], asked.Items.Select(i => i.Kind));
    }

    [Fact]
    public async Task A_fetch_that_sets_seen_can_add_the_new_flags_last()
    {
        var request = FetchRequest.Create([new FetchItem(FetchItemKind.BodySection, FetchSection.Part(1))], isUid: true);
        var withFlags = request.WithFlags();
        Assert.Equal([FetchItemKind.Uid, FetchItemKind.BodySection, FetchItemKind.Flags], withFlags.Items.Select(i => i.Kind));
        Assert.Same(withFlags, request.WithFlags());
        Assert.Same(withFlags, withFlags.WithFlags());
        Assert.True(withFlags.IsUid);
        var (_, bytes) = await FetchAsync(s_message, withFlags, Info(s_message.Length, MessageFlags.Seen, uid: 9));
        Assert.Equal("* 1 FETCH (UID 9 BODY[1] {7}\r\nHello\r\n FLAGS (\\Seen))\r\n", Encoding.Latin1.GetString(bytes));
    }

    [Fact]
    public void Changedsince_selects_only_messages_changed_after_it()
    {
        var request = FetchRequest.Create([new(FetchItemKind.Flags)], changedSince: 12);
        Assert.False(request.Selects(12));
        Assert.True(request.Selects(13));
        Assert.True(FetchRequest.Create([new(FetchItemKind.Flags)]).Selects(1));
    }

    [Fact]
    public void Vanished_needs_uid_fetch_and_changedsince()
    {
        Assert.Throws<ArgumentException>(() => FetchRequest.Create([new(FetchItemKind.Flags)], isUid: false, changedSince: 1, vanished: true));
        Assert.Throws<ArgumentException>(() => FetchRequest.Create([new(FetchItemKind.Flags)], isUid: true, vanished: true));
        Assert.True(FetchRequest.Create([new(FetchItemKind.Flags)], isUid: true, changedSince: 1, vanished: true).Vanished);
    }

    private static readonly (FetchItem Item, FetchNeeds Needs, bool SetsSeen)[] s_needs =
    [
        (new FetchItem(FetchItemKind.Flags), FetchNeeds.None, false),
        (new FetchItem(FetchItemKind.Uid), FetchNeeds.None, false),
        (new FetchItem(FetchItemKind.ModSeq), FetchNeeds.None, false),
        (new FetchItem(FetchItemKind.InternalDate), FetchNeeds.None, false),
        (new FetchItem(FetchItemKind.Rfc822Size), FetchNeeds.None, false),
        (new FetchItem(FetchItemKind.Envelope), FetchNeeds.Summary, false),
        (new FetchItem(FetchItemKind.Body), FetchNeeds.Summary, false),
        (new FetchItem(FetchItemKind.BodyStructure), FetchNeeds.Summary, false),
        (new FetchItem(FetchItemKind.Rfc822), FetchNeeds.Content, true),
        (new FetchItem(FetchItemKind.Rfc822Header), FetchNeeds.Summary | FetchNeeds.Header, false),
        (new FetchItem(FetchItemKind.Rfc822Text), FetchNeeds.Summary | FetchNeeds.Content, true),
        (new FetchItem(FetchItemKind.BodySection, FetchSection.Whole), FetchNeeds.Content, true),
        (new FetchItem(FetchItemKind.BodySection, FetchSection.Whole, Peek: true), FetchNeeds.Content, false),
        (new FetchItem(FetchItemKind.BodySection, FetchSection.Of(SectionText.Header)), FetchNeeds.Summary | FetchNeeds.Header, true),
        (new FetchItem(FetchItemKind.BodySection, FetchSection.Of(SectionText.HeaderFields, "Subject"), Peek: true), FetchNeeds.Summary | FetchNeeds.Header, false),
        (new FetchItem(FetchItemKind.BodySection, FetchSection.Of(SectionText.HeaderFieldsNot, "Subject"), Peek: true), FetchNeeds.Summary | FetchNeeds.Header, false),
        (new FetchItem(FetchItemKind.BodySection, new FetchSection([1], SectionText.Header, [])), FetchNeeds.Summary | FetchNeeds.Content, true),
        (new FetchItem(FetchItemKind.BodySection, FetchSection.Part(1), Peek: true), FetchNeeds.Summary | FetchNeeds.Content, false),
        (new FetchItem(FetchItemKind.Binary, FetchSection.Part(1)), FetchNeeds.Summary | FetchNeeds.Content, true),
        (new FetchItem(FetchItemKind.Binary, FetchSection.Part(1), Peek: true), FetchNeeds.Summary | FetchNeeds.Content, false),
        (new FetchItem(FetchItemKind.BinarySize, FetchSection.Part(1)), FetchNeeds.Summary | FetchNeeds.Content, false),
    ];

    public static TheoryData<int> NeedsCases => [.. Enumerable.Range(0, s_needs.Length)];

    [Theory]
    [MemberData(nameof(NeedsCases))]
    public void Each_item_says_what_it_needs_from_the_store_and_whether_it_sets_seen(int index)
    {
        var (item, needs, setsSeen) = s_needs[index];
        var request = FetchRequest.Create([item]);
        Assert.Equal(needs, request.Needs);
        Assert.Equal(setsSeen, request.SetsSeen);
    }

    [Fact]
    public async Task Fetch_of_info_items_needs_neither_summary_nor_content()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var request = FetchRequest.Create([new(FetchItemKind.Uid), new(FetchItemKind.ModSeq)]);
        Assert.Equal(FetchOutcome.Written, await FetchResponseWriter.WriteAsync(pipe.Writer, 1, Info(10), null, null, request));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await FetchResponseWriter.WriteAsync(pipe.Writer, 1, Info(10), null, null, FetchRequest.Create([new(FetchItemKind.Envelope)])));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await FetchResponseWriter.WriteAsync(pipe.Writer, 1, Info(10), Parse(s_message), null, FetchRequest.Create([new(FetchItemKind.Rfc822)])));
    }

    // A client that never reads: the writer stops at the pipe's pause threshold and waits, instead of buffering the message.
    [Fact]
    public async Task A_client_that_does_not_read_holds_the_writer_at_the_pipe_threshold()
    {
        var big = new byte[4 * 1024 * 1024];
        "Subject: big\r\n\r\n"u8.CopyTo(big);
        big.AsSpan(16).Fill((byte)'x');
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 128 * 1024, resumeWriterThreshold: 64 * 1024));
        var request = FetchRequest.Create([new(FetchItemKind.BodySection, FetchSection.Whole, Peek: true)]);
        var write = FetchResponseWriter.WriteAsync(pipe.Writer, 1, Info(big.Length), null, _ => ValueTask.FromResult<Stream>(new MemoryStream(big)), request).AsTask();

        Assert.False(write.IsCompleted);
        Assert.True(pipe.Reader.TryRead(out var buffered));
        Assert.InRange(buffered.Buffer.Length, 1, 128 * 1024 + ContentReader.ChunkSize);
        pipe.Reader.AdvanceTo(buffered.Buffer.Start);

        // Reading it all lets the writer finish, with every octet in place.
        var received = new ArrayBufferWriter<byte>();
        var drain = Task.Run(async () =>
        {
            while (true)
            {
                var result = await pipe.Reader.ReadAsync();
                foreach (var segment in result.Buffer)
                {
                    received.Write(segment.Span);
                }
                pipe.Reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        });
        Assert.Equal(FetchOutcome.Written, await write);
        await pipe.Writer.CompleteAsync();
        await drain;
        var prefix = Encoding.ASCII.GetBytes($"* 1 FETCH (BODY[] {{{big.Length}}}\r\n");
        Assert.Equal(prefix.Length + big.Length + 3, received.WrittenCount);
        Assert.True(received.WrittenSpan[..prefix.Length].SequenceEqual(prefix));
        Assert.True(received.WrittenSpan.Slice(prefix.Length, big.Length).SequenceEqual(big));
        Assert.True(received.WrittenSpan[^3..].SequenceEqual(")\r\n"u8));
    }

    [Fact]
    public async Task Writing_stops_when_the_connection_is_gone()
    {
        var big = new byte[1024 * 1024];
        big.AsSpan().Fill((byte)'x');
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        await pipe.Reader.CompleteAsync();
        var outcome = await FetchResponseWriter.WriteAsync(pipe.Writer, 1, Info(big.Length), null,
            _ => ValueTask.FromResult<Stream>(new MemoryStream(big)), FetchRequest.Create([new(FetchItemKind.Rfc822)]));
        Assert.Equal(FetchOutcome.OutputCompleted, outcome);
    }

    // Many messages into one pipe: each response is complete, and the writer flushes as output accumulates.
    [Fact]
    public async Task Ten_thousand_messages_stream_through_the_pipe()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 256 * 1024, resumeWriterThreshold: 128 * 1024));
        var request = FetchRequest.Create([new(FetchItemKind.Flags), new(FetchItemKind.BodySection, FetchSection.Whole, Peek: true)], isUid: true);
        var summary = Parse(s_message);
        long lines = 0;
        var reader = Task.Run(async () =>
        {
            while (true)
            {
                var result = await pipe.Reader.ReadAsync();
                foreach (var segment in result.Buffer)
                {
                    lines += segment.Span.Count("FETCH (UID "u8);
                }
                pipe.Reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        });
        for (uint n = 1; n <= 10_000; n++)
        {
            Assert.Equal(FetchOutcome.Written, await FetchResponseWriter.WriteAsync(pipe.Writer, n, Info(s_message.Length, uid: n + 100), summary,
                _ => ValueTask.FromResult<Stream>(new MemoryStream(s_message)), request));
            Assert.True(pipe.Writer.UnflushedBytes < FetchResponseWriter.FlushThreshold + 200);
        }
        await pipe.Writer.CompleteAsync();
        await reader;
        Assert.Equal(10_000, lines);
    }
}
