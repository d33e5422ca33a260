using System.Text;
using Mail.Protocols.Text;

namespace Mail.Protocols.Tests;

/// <summary>Octets in a string: UTF-8 decoded, every other octet an escape U+DC80..U+DCFF, and back to the same octets.</summary>
public sealed class EscapedOctetsTests
{
    [Fact]
    public void Utf8_is_decoded_to_its_characters_without_escapes()
    {
        var octets = Encoding.UTF8.GetBytes("会議の件 – Grüße 🙂");
        var text = EscapedOctets.Decode(octets);
        Assert.Equal("会議の件 – Grüße 🙂", text);
        Assert.False(EscapedOctets.HasEscapes(text));
        Assert.Equal(octets, EscapedOctets.GetBytes(text));
    }

    [Fact]
    public void Octets_that_are_not_utf8_become_escapes_and_go_back_to_themselves()
    {
        byte[] latin1 = [(byte)'r', 0xE9, (byte)'s', (byte)'u', (byte)'m', 0xE9];
        var text = EscapedOctets.Decode(latin1);
        Assert.Equal("r\uDCE9sum\uDCE9", text);
        Assert.True(EscapedOctets.HasEscapes(text));
        Assert.Equal(6, EscapedOctets.GetByteCount(text));
        Assert.Equal(latin1, EscapedOctets.GetBytes(text));
    }

    [Theory]
    // UTF-8 and an invalid octet in one value: only the invalid octet is escaped.
    [InlineData(new byte[] { 0xC3, 0xA9, 0xE9 }, "é%E9")]
    // A lead octet cut short by an ASCII one: the lead is escaped, the ASCII octet decoded.
    [InlineData(new byte[] { 0xE4, 0xBC, 0x41 }, "%E4%BCA")]
    // A lead octet cut short by the start of a well-formed character.
    [InlineData(new byte[] { 0xE4, 0xC3, 0xA9 }, "%E4é")]
    // An overlong form and an encoded surrogate are not UTF-8: every octet is escaped.
    [InlineData(new byte[] { 0xC0, 0xAF }, "%C0%AF")]
    [InlineData(new byte[] { 0xED, 0xB3, 0xA9 }, "%ED%B3%A9")]
    // A lone continuation octet, and 0xFF.
    [InlineData(new byte[] { 0x80, 0xFF }, "%80%FF")]
    public void Each_octet_of_an_invalid_sequence_is_escaped_on_its_own(byte[] octets, string expectedWithPercents)
    {
        // %XX stands for the escape of octet XX (U+DCXX): a lone surrogate would not survive the test's data.
        var expected = System.Text.RegularExpressions.Regex.Replace(expectedWithPercents, "%([0-9A-F]{2})", m => ((char)(0xDC00 + Convert.ToInt32(m.Groups[1].Value, 16))).ToString());
        var text = EscapedOctets.Decode(octets);
        Assert.Equal(expected, text);
        Assert.Equal(octets, EscapedOctets.GetBytes(text));
    }

    [Fact]
    public void Any_octets_go_through_a_string_and_back_unchanged()
    {
        var random = new Random(1105);
        for (var i = 0; i < 2000; i++)
        {
            var octets = new byte[random.Next(0, 40)];
            random.NextBytes(octets);
            if (i % 2 == 0)
            {
                // Mostly high octets, so that well-formed sequences and invalid ones meet often.
                for (var j = 0; j < octets.Length; j++)
                {
                    octets[j] |= 0x80;
                }
            }
            var text = EscapedOctets.Decode(octets);
            Assert.Equal(octets, EscapedOctets.GetBytes(text));
            Assert.Equal(octets.Length, EscapedOctets.GetByteCount(text));
            Assert.Equal(!System.Text.Unicode.Utf8.IsValid(octets), EscapedOctets.HasEscapes(text));
        }
    }

    [Fact]
    public void A_surrogate_that_is_no_escape_is_written_as_the_replacement_character()
    {
        // A lone high surrogate, and a low one outside U+DC80..U+DCFF: never made by Decode; U+FFFD as UTF-8 does.
        Assert.Equal(8, EscapedOctets.GetByteCount("a\uD800b\uDC10"));
        Assert.Equal(new byte[] { (byte)'a', 0xEF, 0xBF, 0xBD, (byte)'b', 0xEF, 0xBF, 0xBD }, EscapedOctets.GetBytes("a\uD800b\uDC10"));
        Assert.False(EscapedOctets.HasEscapes("a\uD800b\uDC10"));
        // A pair whose low half lies in the escape range is a character, not an escape.
        Assert.False(EscapedOctets.HasEscapes("\uD83D\uDC80"));
        Assert.Equal(Encoding.UTF8.GetBytes("\uD83D\uDC80"), EscapedOctets.GetBytes("\uD83D\uDC80"));
    }

    [Fact]
    public void A_destination_too_small_is_refused()
    {
        Assert.Throws<ArgumentException>(() => EscapedOctets.GetBytes("r\uDCE9sum\uDCE9", new byte[5]));
    }
}
