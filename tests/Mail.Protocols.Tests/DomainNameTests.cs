using Mail.Protocols.Addressing;

namespace Mail.Protocols.Tests;

/// <summary>Internationalised domains compared by their ASCII form (RFC 5890 A-labels), everything else as written.</summary>
public sealed class DomainNameTests
{
    [Theory]
    [InlineData("bücher.example", "xn--bcher-kva.example")]
    [InlineData("BÜCHER.Example", "xn--bcher-kva.example")]         // UTS #46 maps upper case before converting
    [InlineData("mail.bücher.example", "mail.xn--bcher-kva.example")] // only the Unicode label changes
    [InlineData("例え.テスト", "xn--r8jz45g.xn--zckzah")]
    public void A_unicode_domain_becomes_its_a_labels(string domain, string ascii) => Assert.Equal(ascii, DomainName.ToAscii(domain));

    [Theory]
    [InlineData("example.test")]
    [InlineData("XN--BCHER-KVA.example")]
    [InlineData("[192.0.2.1]")]
    [InlineData("[IPv6:2001:db8::1]")]
    public void An_ascii_domain_or_an_address_literal_is_returned_as_it_is(string domain) => Assert.Same(domain, DomainName.ToAscii(domain));

    [Theory]
    [InlineData("bü\u0000cher.example")]      // IDNA refuses it
    [InlineData("ｅｘａｍｐｌｅ。ｔｅｓｔ")]       // full-width look-alike of example.test: UTS #46 would map it, but it is no U-label
    [InlineData("\uff45xample.test")]          // one full-width letter
    [InlineData("bu\u0308cher.example")]       // decomposed: the U-label is the composed form
    public void A_name_that_is_not_written_in_u_labels_is_returned_as_written(string domain) => Assert.Same(domain, DomainName.ToAscii(domain));

    [Theory]
    [InlineData("bücher.example", "xn--bcher-kva.example", true)]
    [InlineData("Bücher.Example", "XN--BCHER-KVA.EXAMPLE", true)]
    [InlineData("bücher.example", "bucher.example", false)]
    [InlineData("example.test", "EXAMPLE.TEST", true)]
    public void The_comparer_sees_one_domain_in_both_forms_and_in_any_case(string a, string b, bool equal)
    {
        Assert.Equal(equal, DomainName.Comparer.Equals(a, b));
        if (equal)
        {
            Assert.Equal(DomainName.Comparer.GetHashCode(a), DomainName.Comparer.GetHashCode(b));
        }
        var set = new HashSet<string>(DomainName.Comparer) { a };
        Assert.Equal(equal, set.Contains(b));
    }

    [Theory]
    [InlineData("Anna@bücher.example", "anna@xn--bcher-kva.example", true)]
    [InlineData("anna@bücher.example", "anne@xn--bcher-kva.example", false)]
    [InlineData("@bücher.example", "@XN--BCHER-KVA.example", true)]   // a catch-all's key
    [InlineData("no-domain", "NO-DOMAIN", true)]
    public void Addresses_compare_their_domains_by_ascii_form(string a, string b, bool equal)
    {
        Assert.Equal(equal, DomainName.AddressComparer.Equals(a, b));
        if (equal)
        {
            Assert.Equal(DomainName.AddressComparer.GetHashCode(a), DomainName.AddressComparer.GetHashCode(b));
        }
    }

    [Fact]
    public void Converting_an_address_keeps_its_local_part_and_allocates_nothing_for_an_ascii_one()
    {
        Assert.Equal("Ünïcode@xn--bcher-kva.example", DomainName.ToAsciiAddress("Ünïcode@bücher.example"));
        var ascii = "anna@example.test";
        Assert.Same(ascii, DomainName.ToAsciiAddress(ascii));
    }
}
