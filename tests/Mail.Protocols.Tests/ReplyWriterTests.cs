using System.Buffers;
using System.Text;
using Mail.Protocols.Text;

namespace Mail.Protocols.Tests;

public class ReplyWriterTests
{
    private static string Written(Action<ArrayBufferWriter<byte>> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(buffer);
        return Encoding.Latin1.GetString(buffer.WrittenSpan);
    }

    [Theory]
    [InlineData(0L, "0")]
    [InlineData(42L, "42")]
    [InlineData(-7L, "-7")]
    [InlineData(long.MaxValue, "9223372036854775807")]
    public void Numbers_are_written_in_decimal(long value, string expected) =>
        Assert.Equal(expected, Written(w => w.WriteNumber(value)));

    [Fact]
    public void Unsigned_numbers_reach_the_full_range() =>
        Assert.Equal("18446744073709551615 4294967295", Written(w =>
        {
            w.WriteNumber(ulong.MaxValue);
            w.Write(" "u8);
            w.WriteNumber((ulong)uint.MaxValue);
        }));

    [Fact]
    public void Quoted_strings_escape_quote_and_backslash() =>
        Assert.Equal("\"a \\\"b\\\" c\\\\d\" \"\"", Written(w =>
        {
            w.WriteQuoted("a \"b\" c\\d"u8);
            w.Write(" "u8);
            w.WriteQuoted(""u8);
        }));

    [Fact]
    public void A_string_with_cr_lf_or_nul_becomes_a_literal_and_cannot_be_quoted()
    {
        Assert.Equal("{6}\r\na\r\nb\0c", Written(w => w.WriteString("a\r\nb\0c"u8)));
        Assert.Equal("\"plain\"", Written(w => w.WriteString("plain"u8)));
        Assert.Throws<ArgumentException>(() => Written(w => w.WriteQuoted("a\nb"u8)));
    }

    [Fact]
    public void Literals_announce_their_length_and_carry_octets_as_they_are() =>
        Assert.Equal("{0}\r\n{5}\r\n\u00ff\"\\\r\n", Written(w =>
        {
            w.WriteLiteral(""u8);
            w.WriteLiteral([0xff, (byte)'"', (byte)'\\', 13, 10]);
        }));

    [Fact]
    public void Atoms_are_checked()
    {
        Assert.Equal("$Forwarded", Written(w => w.WriteAtom("$Forwarded"u8)));
        foreach (var bad in new[] { "", "a b", "a(b", "a{", "%", "*", "a\"", "a\\", "a]", "\u00e9" })
        {
            Assert.False(ReplyWriter.IsAtom(Encoding.UTF8.GetBytes(bad)), bad);
            Assert.Throws<ArgumentException>(() => Written(w => w.WriteAtom(Encoding.UTF8.GetBytes(bad))));
        }
    }

    [Fact]
    public void Ascii_text_replaces_what_is_not_ascii_and_line_breaks()
    {
        Assert.Equal("mx.example.test h?st a??b", Written(w => w.WriteAscii("mx.example.test h\u00f6st a\r\nb")));
        var longText = new string('x', 10_000);
        Assert.Equal(longText, Written(w => w.WriteAscii(longText)));
    }
}
