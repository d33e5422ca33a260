using System.Text;

namespace Mail.Protocols.Imap.Tests.Differential;

/// <summary>
/// The normaliser forgives exactly what the RFCs allow (item order, atom case, quoted versus literal, the
/// case-insensitive MIME fields of a body structure) and nothing else.
/// </summary>
public sealed class FetchNormalizerTests
{
    private static string Canonical(string response) =>
        string.Join(" ", FetchNormalizer.Normalize(Encoding.Latin1.GetBytes(response)).Select(p => p.Key + "=" + p.Value));

    private static void Same(string a, string b) => Assert.Equal(Canonical(a), Canonical(b));

    private static void Different(string a, string b) => Assert.NotEqual(Canonical(a), Canonical(b));

    [Fact]
    public void Nil_in_any_case_is_the_same_atom() =>
        Same("* 1 FETCH (ENVELOPE (NIL \"s\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n", "* 1 FETCH (envelope (nil \"s\" Nil NIL NIL NIL NIL NIL NIL nil))\r\n");

    [Fact]
    public void Item_names_in_any_case_are_the_same() =>
        Same("* 1 FETCH (BODY[HEADER.FIELDS (FROM)] \"a\")\r\n", "* 1 FETCH (body[header.fields (from)] \"a\")\r\n");

    [Fact]
    public void A_quoted_string_a_literal_and_a_literal8_of_the_same_octets_are_the_same()
    {
        Same("* 1 FETCH (BODY[1] \"abc\")\r\n", "* 1 FETCH (BODY[1] {3}\r\nabc)\r\n");
        Same("* 1 FETCH (BINARY[1] \"abc\")\r\n", "* 1 FETCH (BINARY[1] ~{3}\r\nabc)\r\n");
        Same("* 1 FETCH (BODY[1] \"a\\\"b\\\\\")\r\n", "* 1 FETCH (BODY[1] {4}\r\na\"b\\)\r\n");
    }

    [Fact]
    public void The_order_of_the_items_does_not_matter() =>
        Same("* 1 FETCH (RFC822.SIZE 5 BODY[1] \"x\")\r\n", "* 1 FETCH (BODY[1] \"x\" RFC822.SIZE 5)\r\n");

    [Fact]
    public void Media_type_subtype_parameter_names_encoding_and_disposition_type_compare_in_any_case() =>
        Same(
            "* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 3 1 NIL (\"ATTACHMENT\" (\"FILENAME\" \"a.txt\")) NIL NIL))\r\n",
            "* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 NIL (\"attachment\" (\"filename\" \"a.txt\")) NIL NIL))\r\n");

    [Fact]
    public void The_fields_of_a_multipart_and_of_an_embedded_message_are_folded_too()
    {
        Same(
            "* 1 FETCH (BODY ((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1)(\"IMAGE\" \"PNG\" NIL NIL NIL \"BASE64\" 4) \"MIXED\"))\r\n",
            "* 1 FETCH (BODY ((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1)(\"image\" \"png\" NIL NIL NIL \"base64\" 4) \"mixed\"))\r\n");
        const string envelope = "(NIL \"Hi\" NIL NIL NIL NIL NIL NIL NIL NIL)";
        Same(
            $"* 1 FETCH (BODY (\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 9 {envelope} (\"TEXT\" \"HTML\" NIL NIL NIL \"QUOTED-PRINTABLE\" 2 1) 3))\r\n",
            $"* 1 FETCH (BODY (\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 9 {envelope} (\"text\" \"html\" NIL NIL NIL \"quoted-printable\" 2 1) 3))\r\n");
    }

    [Fact]
    public void Parameter_values_and_descriptions_compare_exactly()
    {
        Different(
            "* 1 FETCH (BODY (\"text\" \"plain\" (\"charset\" \"US-ASCII\") NIL NIL \"7bit\" 3 1))\r\n",
            "* 1 FETCH (BODY (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1))\r\n");
        Different(
            "* 1 FETCH (BODY (\"text\" \"plain\" NIL NIL \"Notes\" \"7bit\" 3 1))\r\n",
            "* 1 FETCH (BODY (\"text\" \"plain\" NIL NIL \"NOTES\" \"7bit\" 3 1))\r\n");
    }

    [Fact]
    public void Envelope_strings_and_section_octets_compare_exactly()
    {
        Different("* 1 FETCH (ENVELOPE (NIL \"Hello\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n", "* 1 FETCH (ENVELOPE (NIL \"HELLO\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n");
        Different("* 1 FETCH (BODY[1] \"TEXT\")\r\n", "* 1 FETCH (BODY[1] \"text\")\r\n");
        Different("* 1 FETCH (BODY[1] \"a \")\r\n", "* 1 FETCH (BODY[1] \"a\")\r\n");
    }

    [Fact]
    public void A_string_nil_is_not_the_atom_nil() =>
        Different("* 1 FETCH (ENVELOPE (\"NIL\" NIL NIL NIL NIL NIL NIL NIL NIL NIL))\r\n", "* 1 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL))\r\n");

    [Fact]
    public void Numbers_items_and_the_spacing_of_lists_of_lists_are_compared()
    {
        Different("* 1 FETCH (RFC822.SIZE 5)\r\n", "* 1 FETCH (RFC822.SIZE 6)\r\n");
        Different("* 1 FETCH (RFC822.SIZE 5)\r\n", "* 1 FETCH (RFC822.SIZE 5 UID 1)\r\n");
        // body-type-mpart = 1*body SP media-subtype: no SP between the bodies.
        Different(
            "* 1 FETCH (BODY ((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1)(\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1) \"mixed\"))\r\n",
            "* 1 FETCH (BODY ((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1) (\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1) \"mixed\"))\r\n");
    }

    [Fact]
    public void A_nul_octet_is_refused_in_a_literal_but_not_in_a_literal8()
    {
        Assert.Throws<FormatException>(() => Canonical("* 1 FETCH (BODY[1] {3}\r\na\0b)\r\n"));
        Assert.Equal("BINARY[1]=\"a\\x00b\"", Canonical("* 1 FETCH (BINARY[1] ~{3}\r\na\0b)\r\n"));
    }

    [Theory]
    [InlineData("* 1 FETCH (BODY[1] \"abc)\r\n")]
    [InlineData("* 1 FETCH (BODY[1] {9}\r\nabc)\r\n")]
    [InlineData("* 1 FETCH (BODY[1] \"a\\b\")\r\n")]
    [InlineData("* 1 FETCH (BODY[1])\r\n")]
    [InlineData("* 1 FETCH (BODY[1] \"a\")")]
    [InlineData("* 1 FETCH (BODY[1 \"a\")\r\n")]
    [InlineData("* 1 FETCH (BODY[1] \"a\") \r\n")]
    [InlineData("* 1 SEARCH 1\r\n")]
    [InlineData("* x FETCH (UID 1)\r\n")]
    [InlineData("* 1 FETCH (UID 1 UID 2)\r\n")]
    public void Malformed_responses_are_a_format_exception(string response) =>
        Assert.Throws<FormatException>(() => Canonical(response));

    [Fact]
    public void Nesting_is_bounded()
    {
        var deep = "* 1 FETCH (X " + new string('(', 10_000) + new string(')', 10_000) + ")\r\n";
        Assert.Throws<FormatException>(() => Canonical(deep));
    }

    [Fact]
    public void Search_responses_give_their_numbers()
    {
        Assert.Equal([2u, 5u], ImapResponseParser.ParseSearch("* SEARCH 2 5\r\n"u8).ToArray());
        Assert.Empty(ImapResponseParser.ParseSearch("* SEARCH\r\n"u8));
        Assert.Throws<FormatException>(() => ImapResponseParser.ParseSearch("* SEARCH 2 x\r\n"u8));
    }
}
