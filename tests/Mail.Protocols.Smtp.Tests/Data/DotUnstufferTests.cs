using System.Text;
using Mail.Protocols.Smtp.Data;

namespace Mail.Protocols.Smtp.Tests.Data;

public class DotUnstufferTests
{
    private static (bool Done, string Output, int Consumed, bool Bare) Run(string input, int[] splits, bool normalize = false)
    {
        var bytes = Encoding.ASCII.GetBytes(input);
        using var spool = new MessageSpool(() => throw new InvalidOperationException("small messages stay in memory"));
        var unstuffer = new DotUnstuffer(normalize);
        var offset = 0;
        var done = false;
        var pieces = splits.Append(bytes.Length).Where(s => s > 0 && s <= bytes.Length).Distinct().Order();
        foreach (var end in pieces)
        {
            if (end <= offset)
            {
                continue;
            }
            done = unstuffer.Process(bytes.AsSpan(offset, end - offset), spool, out var consumed);
            offset += consumed;
            if (done)
            {
                break;
            }
        }
        spool.Position = 0;
        var output = new StreamReader(spool, Encoding.ASCII).ReadToEnd();
        return (done, output, offset, unstuffer.SawBareLineEnding);
    }

    // The RFC 5321 §4.5.2 rule written the slow, obvious way.
    private static (string Output, int Consumed) Reference(string input)
    {
        var data = "\r\n" + input;
        var end = data.IndexOf("\r\n.\r\n", StringComparison.Ordinal);
        var body = data[..(end + 2)].Replace("\r\n.", "\r\n", StringComparison.Ordinal);
        return (body[2..], end + 5 - 2);
    }

    [Theory]
    [InlineData("Subject: a\r\n\r\nbody\r\n.\r\n", "Subject: a\r\n\r\nbody\r\n")]
    [InlineData(".\r\n", "")]
    [InlineData("..\r\n.\r\n", ".\r\n")]
    [InlineData("a\r\n..b\r\n...\r\n.\r\n", "a\r\n.b\r\n..\r\n")]
    [InlineData("a\r\n.b\r\n.\r\n", "a\r\nb\r\n")]
    public void Unstuffs_and_stops_at_crlf_dot_crlf(string input, string expected)
    {
        var (done, output, consumed, bare) = Run(input + "NOOP\r\n", []);
        Assert.True(done);
        Assert.Equal(expected, output);
        Assert.Equal(input.Length, consumed);
        Assert.False(bare);
    }

    [Fact]
    public void Every_split_of_random_messages_gives_the_reference_result()
    {
        var random = new Random(5321);
        string[] tokens = ["a", "b", ".", "..", "\r\n", "\r\n", "\r\n.", "x.y"];
        for (var round = 0; round < 2000; round++)
        {
            var builder = new StringBuilder();
            var n = random.Next(0, 30);
            for (var t = 0; t < n; t++)
            {
                builder.Append(tokens[random.Next(tokens.Length)]);
            }
            if (builder.Length > 0 && !builder.ToString().EndsWith("\r\n", StringComparison.Ordinal))
            {
                builder.Append("\r\n");
            }
            var message = builder + ".\r\nQUIT\r\n";
            if (message.Contains("\r\r", StringComparison.Ordinal))
            {
                continue;
            }
            var (expected, expectedConsumed) = Reference(message);
            var splits = Enumerable.Range(0, random.Next(0, 6)).Select(_ => random.Next(1, message.Length)).ToArray();
            var (done, output, consumed, bare) = Run(message, splits);
            Assert.True(done, message);
            Assert.False(bare);
            Assert.Equal(expected, output);
            Assert.Equal(expectedConsumed, consumed);
        }
    }

    [Theory]
    [InlineData("a\nb\r\n.\r\n")]
    [InlineData("a\rb\r\n.\r\n")]
    [InlineData("a\r\n.\n.\nb\r\n.\r\n")]
    [InlineData("x\n.\r\nMAIL FROM:<spoof@example.org>\r\n.\r\n")]
    [InlineData("x\r.\r\nMAIL FROM:<spoof@example.org>\r\n.\r\n")]
    [InlineData("x\r\n.\n\r\n.\r\n")]
    public void Bare_line_endings_are_noticed_and_only_crlf_dot_crlf_ends_data(string input)
    {
        foreach (var normalize in new[] { false, true })
        {
            var (done, _, consumed, bare) = Run(input + "NOOP\r\n", [], normalize);
            Assert.True(done);
            Assert.True(bare);
            Assert.Equal(input.Length, consumed);
        }
    }

    [Fact]
    public void Smuggled_terminator_after_a_bare_lf_stays_inside_the_message()
    {
        var (_, output, _, _) = Run("x\n.\r\nMAIL FROM:<spoof@example.org>\r\n.\r\n", []);
        Assert.Contains("MAIL FROM:<spoof@example.org>", output);
    }

    [Fact]
    public void Normalize_turns_bare_line_endings_into_crlf()
    {
        var (_, output, _, bare) = Run("a\nb\rc\r\n.\r\n", [], normalize: true);
        Assert.True(bare);
        Assert.Equal("a\r\nb\r\nc\r\n", output);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Spool_keeps_large_messages_in_a_0600_file_in_its_directory_and_reads_them_back()
    {
        var directory = Directory.CreateTempSubdirectory("mp-spool-unit-");
        try
        {
            var spool = new MessageSpool(() => directory.FullName, memoryThreshold: 64 * 1024);
            var block = new byte[10_000];
            new Random(1).NextBytes(block);
            spool.Append(block);
            Assert.Empty(directory.GetFiles()); // still in memory
            for (var i = 1; i < 50; i++)
            {
                spool.Append(block);
            }
            Assert.Equal(500_000, spool.Length);
            var file = Assert.Single(directory.GetFiles());
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file.FullName));
            spool.Position = 490_000;
            var tail = new byte[10_000];
            spool.ReadExactly(tail);
            Assert.Equal(block, tail);
            spool.Dispose();
            Assert.Empty(directory.GetFiles());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
