using System.Buffers;
using System.Text;
using Mail.Protocols.Smtp.Client;
using Mail.Protocols.Smtp.Data;

namespace Mail.Protocols.Smtp.Tests.Abuse;

/// <summary>
/// The two writers the smuggling defences rest on, fed every split of hostile input into two chunks (a CR at the end of
/// one chunk and its LF, or not, at the start of the next): the outbound DATA writer and BDAT's normalising copy.
/// </summary>
public sealed class LineEndingSplitTests
{
    public static TheoryData<string> Inputs => new()
    {
        "hello\n.\nMAIL FROM:<e@x>\r\n",
        "hello\r.\rMAIL\r",
        "a\r\n.\r\nb\r\n..\r\n.x\n.\r",
        ".\r\r\n\n\r\r.",
        "\r",
        "",
        "x",
        "\r\n\0.\r\n.\0\r\n",
    };

    // The rule written the obvious way: every CR, LF or CRLF is one line end.
    private static string[] Lines(string input) => input.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').Split('\n');

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Outbound_data_has_only_crlf_line_ends_and_every_line_start_dot_stuffed_at_any_split(string input)
    {
        var bytes = Encoding.ASCII.GetBytes(input);
        var lines = Lines(input);
        // A final line end adds no line; a last line without one gets CRLF. Then the terminator.
        var body = lines[^1].Length == 0 ? lines[..^1] : lines;
        var expected = string.Concat(body.Select(l => (l.StartsWith('.') ? "." + l : l) + "\r\n")) + ".\r\n";
        for (var split = 0; split <= bytes.Length; split++)
        {
            var output = new ArrayBufferWriter<byte>();
            var stuffer = new DataStuffer();
            stuffer.Write(bytes.AsSpan(0, split), output);
            stuffer.Write(bytes.AsSpan(split), output);
            stuffer.Finish(output);
            Assert.Equal(expected, Encoding.ASCII.GetString(output.WrittenSpan));
        }
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Bdat_normalised_copy_has_only_crlf_line_ends_at_any_split(string input)
    {
        var bytes = Encoding.ASCII.GetBytes(input);
        var expected = string.Join("\r\n", Lines(input));
        var bare = input.Replace("\r\n", "", StringComparison.Ordinal).AsSpan().IndexOfAny('\r', '\n') >= 0;
        for (var split = 0; split <= bytes.Length; split++)
        {
            using var spool = new MessageSpool(() => throw new InvalidOperationException("small messages stay in memory"));
            var scanner = new BareLineEndingScanner();
            scanner.CopyNormalized(bytes.AsSpan(0, split), spool);
            scanner.CopyNormalized(bytes.AsSpan(split), spool);
            scanner.FinishNormalized(spool);
            spool.Position = 0;
            Assert.Equal(expected, new StreamReader(spool, Encoding.ASCII).ReadToEnd());
            Assert.Equal(bare, scanner.SawBareLineEnding);
        }
    }
}
