using System.Buffers;
using System.Text;
using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Tests.Protocol;

/// <summary>RFC 9051 <c>sequence-set</c> with RFC 5182's "$", and the resolved <see cref="NumberSet"/>.</summary>
public class SequenceSetTests
{
    private static SequenceSet Set(string text, int? maxRanges = null) => Parse.Read(text, (ref r) => r.ReadSequenceSet(), maxRanges: maxRanges);

    private static string Resolved(string text, uint largest) => Set(text).Resolve(largest).ToString();

    [Theory]
    [InlineData("1", 10u, "1")]
    [InlineData("1:5", 10u, "1:5")]
    [InlineData("5:1", 10u, "1:5")]
    [InlineData("*", 10u, "10")]
    [InlineData("1:*", 10u, "1:10")]
    [InlineData("*:5", 10u, "5:10")]
    [InlineData("*:*", 10u, "10")]
    [InlineData("3,1,2", 10u, "1:3")]
    [InlineData("1:3,2:6,8", 10u, "1:6,8")]
    [InlineData("4294967295", 10u, "4294967295")]
    [InlineData("1:4294967295", 10u, "1:4294967295")]
    // RFC 9051 §9 seq-number examples: 2,4:7,9,12:* with 15 messages; *:4,5:7 with 10.
    [InlineData("2,4:7,9,12:*", 15u, "2,4:7,9,12:15")]
    [InlineData("*:4,5:7", 10u, "4:10")]
    // RFC 3501 §6.4.8: a UID range 559:* always includes the last UID, even if 559 is above it.
    [InlineData("559:*", 500u, "500:559")]
    public void Resolves_against_the_largest_number(string text, uint largest, string expected) =>
        Assert.Equal(expected, Resolved(text, largest));

    [Theory]
    [InlineData("*", "")]
    [InlineData("1:*", "1")]
    [InlineData("3,*", "3")]
    public void Star_in_an_empty_mailbox_stands_for_nothing(string text, string expected) => Assert.Equal(expected, Resolved(text, 0));

    [Theory]
    [InlineData("0")]
    [InlineData("0:5")]
    [InlineData("5:0")]
    [InlineData("01")]
    [InlineData("")]
    [InlineData(",1")]
    [InlineData("1,")]
    [InlineData("1,,2")]
    [InlineData("1::2")]
    [InlineData("1:")]
    [InlineData(":1")]
    [InlineData("a")]
    [InlineData("-1")]
    [InlineData("4294967296")]
    [InlineData("1:4294967296")]
    [InlineData("99999999999999999999")]
    [InlineData("**")]
    public void Invalid_sequence_set(string text) =>
        Assert.Equal(text is "**" ? "Unexpected text after the command's arguments" : "Invalid sequence set",
            Parse.Bad(text, (ref r) => r.ReadSequenceSet()));

    [Fact]
    public void Saved_result_alone_and_in_a_list()
    {
        var saved = NumberSet.FromNumbers([4, 7, 8]);
        var set = Set("$");
        Assert.True(set.IncludesSavedResult);
        Assert.Empty(set.Ranges);
        Assert.Equal("4,7:8", set.Resolve(10, saved).ToString());
        Assert.Equal("1,4,7:8", Set("1,$").Resolve(10, saved).ToString());
        // No saved result yet (RFC 5182 §2.1): "$" is the empty set.
        Assert.Equal("", set.Resolve(10).ToString());
        Assert.False(Set("1:*").IncludesSavedResult);
    }

    [Fact]
    public void Star_is_reported()
    {
        Assert.True(Set("1:*").IncludesStar);
        Assert.True(Set("*").IncludesStar);
        Assert.False(Set("1:5,7").IncludesStar);
        Assert.Equal([new SequenceRange(SequenceSet.Star, 5)], Set("*:5").Ranges);
    }

    [Fact]
    public void Item_count_is_bounded()
    {
        Assert.Equal(3, Set("1,2:3,$", maxRanges: 3).Ranges.Count + 1);
        Assert.Equal("Too many items in a sequence set", Parse.Bad("1,2,3,4", (ref r) => r.ReadSequenceSet(), maxRanges: 3));
    }

    [Fact]
    public void Default_bound_admits_a_long_uid_list_and_refuses_beyond()
    {
        var atLimit = string.Join(',', Enumerable.Range(1, SequenceSet.DefaultMaxRanges).Select(i => (i * 2).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(SequenceSet.DefaultMaxRanges, Set(atLimit).Ranges.Count);
        Assert.Equal("Too many items in a sequence set", Parse.Bad(atLimit + ",1", (ref r) => r.ReadSequenceSet()));
    }

    [Fact]
    public void Containment_does_not_expand_ranges()
    {
        var set = Set("1:4294967295").Resolve(10);
        Assert.Equal(4294967295L, set.Count);
        Assert.True(set.Contains(1));
        Assert.True(set.Contains(4294967295));
        Assert.False(set.Contains(0));
    }

    [Fact]
    public void Containment_between_ranges()
    {
        var set = Set("2,4:7,9,12:*").Resolve(15);
        uint[] inside = [2, 4, 5, 7, 9, 12, 15];
        uint[] outside = [0, 1, 3, 8, 10, 11, 16, uint.MaxValue];
        Assert.All(inside, n => Assert.True(set.Contains(n)));
        Assert.All(outside, n => Assert.False(set.Contains(n)));
        Assert.Equal(10, set.Count);
        Assert.Equal(2u, set.Min);
        Assert.Equal(15u, set.Max);
    }

    [Fact]
    public void Enumerates_in_order_without_duplicates()
    {
        Assert.Equal<uint>([1u, 2, 3, 4, 5, 9], Set("5,1:3,9,2,4,3:1,9").Resolve(10));
        Assert.Equal<uint>([4294967294u, 4294967295], Set("*:4294967294").Resolve(uint.MaxValue));
        Assert.Empty(Set("*").Resolve(0));
    }

    [Fact]
    public void Number_set_from_numbers_merges_adjacent_ones()
    {
        var set = NumberSet.FromNumbers([5, 3, 4, 10, 1, 4294967295, 4294967294]);
        Assert.Equal("1,3:5,10,4294967294:4294967295", set.ToString());
        Assert.Equal(4, set.Ranges.Length);
        Assert.True(NumberSet.FromNumbers([]).IsEmpty);
        Assert.Equal(0u, NumberSet.Empty.Max);
    }

    [Fact]
    public void Number_set_writes_a_sequence_set()
    {
        var buffer = new ArrayBufferWriter<byte>();
        NumberSet.FromRanges([(7, 9), (1, 1)]).WriteTo(buffer);
        Assert.Equal("1,7:9", Encoding.ASCII.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public void Number_set_refuses_zero_and_reversed_ranges()
    {
        Assert.Throws<ArgumentException>(() => NumberSet.FromNumbers([0]));
        Assert.Throws<ArgumentException>(() => NumberSet.FromRanges([(5, 4)]));
    }

    [Fact]
    public void Union()
    {
        var union = NumberSet.FromNumbers([1, 2]).Union(NumberSet.FromNumbers([3, 9]));
        Assert.Equal("1:3,9", union.ToString());
        Assert.Same(union, union.Union(NumberSet.Empty));
    }
}
