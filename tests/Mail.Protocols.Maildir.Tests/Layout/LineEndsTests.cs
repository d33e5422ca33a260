using System.Text;
using Mail.Protocols.Maildir.Layout;

namespace Mail.Protocols.Maildir.Tests.Layout;

/// <summary>The size a file has once served with CRLF line ends: counted in 64 KiB chunks, so pairs across a chunk boundary matter.</summary>
public sealed class LineEndsTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private long WireSizeOf(byte[] content)
    {
        var path = _directory.Combine("message");
        File.WriteAllBytes(path, content);
        return LineEnds.WireSize(path);
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("a\r\nb\r\n", 6)]
    [InlineData("a\nb\n", 6)]
    [InlineData("\n\n\r\n\r\r\n", 9)]
    [InlineData("a\r\n\nb", 6)]
    public void Every_bare_lf_counts_one_more(string content, long expected) =>
        Assert.Equal(expected, WireSizeOf(Encoding.ASCII.GetBytes(content)));

    [Theory]
    [InlineData("\r\n", 0)] // a CRLF split by the chunk boundary: no bare LF
    [InlineData("\n\n", 2)] // a chunk ending in LF: the next LF is bare
    [InlineData("\r\r\n", 0)]
    public void Pairs_across_the_64_KiB_chunk_boundary_are_seen(string tail, int bareLfs)
    {
        // The first chunk ends right after the tail's first character.
        var content = new byte[64 * 1024 - 1 + tail.Length];
        content.AsSpan().Fill((byte)'x');
        Encoding.ASCII.GetBytes(tail).CopyTo(content, 64 * 1024 - 1);
        Assert.Equal(content.Length + bareLfs, WireSizeOf(content));
    }

    [Fact]
    public void New_names_carry_the_file_size_and_the_served_size_as_dovecot_writes_them()
    {
        var name = MaildirFileName.NewBaseName("host", DateTimeOffset.FromUnixTimeSeconds(1_800_000_000), 1200, 1234);
        Assert.Matches(@"^1800000000\.M0P\d+Q\d+\.host,S=1200,W=1234$", name);
        Assert.True(MaildirFileName.TryParse(name + ":2,S", out var parsed));
        Assert.Equal(1200, parsed.SizeFromName());
        Assert.Equal(1234, parsed.WireSizeFromName());
    }
}
