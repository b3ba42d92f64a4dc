using System.Buffers.Binary;
using System.Text;

namespace ObservaCost.Collector.Otlp;

/// <summary>
/// Reads <c>opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest</c> from protobuf wire format, keeping
/// gauge and sum number data points. Written against the OTLP 1.x .proto field numbers; unknown fields are skipped,
/// so newer senders are read too. (No generated OTLP classes are in the registry this project builds from.)
/// </summary>
public static class OtlpProtobufReader
{
    private const int MaxDepth = 16;

    public static OtlpExport Read(ReadOnlySpan<byte> request)
    {
        var export = new OtlpExport();
        var reader = new WireReader(request);
        while (reader.TryReadTag(out int field, out int wire))
        {
            if (field == 1 && wire == 2)
            {
                ReadResourceMetrics(reader.ReadBytes(), export);
            }
            else
            {
                reader.Skip(wire);
            }
        }

        return export;
    }

    private static void ReadResourceMetrics(ReadOnlySpan<byte> data, OtlpExport export)
    {
        var resource = new Dictionary<string, string>(StringComparer.Ordinal);
        var scopes = new List<byte[]>();
        var reader = new WireReader(data);
        while (reader.TryReadTag(out int field, out int wire))
        {
            if (field == 1 && wire == 2)
            {
                // Resource { repeated KeyValue attributes = 1; }
                var r = new WireReader(reader.ReadBytes());
                while (r.TryReadTag(out int f, out int w))
                {
                    if (f == 1 && w == 2)
                    {
                        ReadKeyValue(r.ReadBytes(), resource, 0);
                    }
                    else
                    {
                        r.Skip(w);
                    }
                }
            }
            else if (field == 2 && wire == 2)
            {
                scopes.Add(reader.ReadBytes().ToArray());
            }
            else
            {
                reader.Skip(wire);
            }
        }

        foreach (byte[] scope in scopes)
        {
            var s = new WireReader(scope);
            while (s.TryReadTag(out int f, out int w))
            {
                if (f == 2 && w == 2)
                {
                    ReadMetric(s.ReadBytes(), resource, export);
                }
                else
                {
                    s.Skip(w);
                }
            }
        }
    }

    private static void ReadMetric(ReadOnlySpan<byte> data, Dictionary<string, string> resource, OtlpExport export)
    {
        string name = string.Empty;
        string unit = string.Empty;
        var numberPoints = new List<byte[]>();
        var reader = new WireReader(data);
        while (reader.TryReadTag(out int field, out int wire))
        {
            switch (field)
            {
                case 1 when wire == 2:
                    name = reader.ReadString();
                    break;
                case 3 when wire == 2:
                    unit = reader.ReadString();
                    break;
                case 5 or 7 when wire == 2:
                    // Gauge { repeated NumberDataPoint data_points = 1; } / Sum { data_points = 1; temporality = 2; is_monotonic = 3; }
                    var g = new WireReader(reader.ReadBytes());
                    while (g.TryReadTag(out int f, out int w))
                    {
                        if (f == 1 && w == 2)
                        {
                            numberPoints.Add(g.ReadBytes().ToArray());
                        }
                        else
                        {
                            g.Skip(w);
                        }
                    }

                    break;
                case 9 or 10 or 11 when wire == 2:
                    var h = new WireReader(reader.ReadBytes());
                    while (h.TryReadTag(out int f, out int w))
                    {
                        if (f == 1 && w == 2)
                        {
                            export.UnsupportedPoints++;
                        }

                        h.Skip(w);
                    }

                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        foreach (byte[] point in numberPoints)
        {
            ReadNumberDataPoint(point, name, unit, resource, export);
        }
    }

    private static void ReadNumberDataPoint(ReadOnlySpan<byte> data, string metric, string unit, Dictionary<string, string> resource, OtlpExport export)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        long time = 0;
        double? value = null;
        var reader = new WireReader(data);
        while (reader.TryReadTag(out int field, out int wire))
        {
            switch (field)
            {
                case 7 when wire == 2:
                    ReadKeyValue(reader.ReadBytes(), attributes, 0);
                    break;
                case 3 when wire == 1:
                    time = (long)reader.ReadFixed64();
                    break;
                case 4 when wire == 1:
                    value = BitConverter.Int64BitsToDouble((long)reader.ReadFixed64());
                    break;
                case 6 when wire == 1:
                    value = (long)reader.ReadFixed64();
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        if (value is null)
        {
            export.Rejections.Add(new OtlpRejection(metric, "data point has no value"));
            return;
        }

        export.Points.Add(new OtlpDataPoint(metric, unit, resource, attributes, time, value.Value));
    }

    /// <summary>KeyValue { string key = 1; AnyValue value = 2; } with scalar AnyValues as text.</summary>
    private static void ReadKeyValue(ReadOnlySpan<byte> data, Dictionary<string, string> into, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidDataException("attributes nest too deeply");
        }

        string key = string.Empty;
        string? value = null;
        var reader = new WireReader(data);
        while (reader.TryReadTag(out int field, out int wire))
        {
            if (field == 1 && wire == 2)
            {
                key = reader.ReadString();
            }
            else if (field == 2 && wire == 2)
            {
                value = ReadAnyValue(reader.ReadBytes());
            }
            else
            {
                reader.Skip(wire);
            }
        }

        if (key.Length > 0 && value is not null)
        {
            into[key] = value;
        }
    }

    private static string? ReadAnyValue(ReadOnlySpan<byte> data)
    {
        var reader = new WireReader(data);
        string? value = null;
        while (reader.TryReadTag(out int field, out int wire))
        {
            value = (field, wire) switch
            {
                (1, 2) => reader.ReadString(),
                (2, 0) => reader.ReadVarint() != 0 ? "true" : "false",
                (3, 0) => ((long)reader.ReadVarint()).ToString(System.Globalization.CultureInfo.InvariantCulture),
                (4, 1) => BitConverter.Int64BitsToDouble((long)reader.ReadFixed64()).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                _ => SkipAndReturnNull(ref reader, wire),
            };
        }

        return value;
    }

    private static string? SkipAndReturnNull(ref WireReader reader, int wire)
    {
        reader.Skip(wire);
        return null;
    }

    /// <summary>A protobuf wire-format reader over a span.</summary>
    private ref struct WireReader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _pos;

        public bool TryReadTag(out int field, out int wire)
        {
            if (_pos >= _data.Length)
            {
                field = 0;
                wire = 0;
                return false;
            }

            ulong tag = ReadVarint();
            field = (int)(tag >> 3);
            wire = (int)(tag & 7);
            if (field <= 0)
            {
                throw new InvalidDataException("invalid protobuf field number 0");
            }

            return true;
        }

        public ulong ReadVarint()
        {
            ulong result = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (_pos >= _data.Length)
                {
                    throw new InvalidDataException("truncated varint");
                }

                byte b = _data[_pos++];
                result |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return result;
                }
            }

            throw new InvalidDataException("varint longer than 10 bytes");
        }

        public ulong ReadFixed64()
        {
            if (_pos + 8 > _data.Length)
            {
                throw new InvalidDataException("truncated fixed64");
            }

            ulong v = BinaryPrimitives.ReadUInt64LittleEndian(_data.Slice(_pos, 8));
            _pos += 8;
            return v;
        }

        public ReadOnlySpan<byte> ReadBytes()
        {
            ulong length = ReadVarint();
            if (length > (ulong)(_data.Length - _pos))
            {
                throw new InvalidDataException("length-delimited field runs past the end of its message");
            }

            ReadOnlySpan<byte> bytes = _data.Slice(_pos, (int)length);
            _pos += (int)length;
            return bytes;
        }

        public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0:
                    ReadVarint();
                    break;
                case 1:
                    ReadFixed64();
                    break;
                case 2:
                    ReadBytes();
                    break;
                case 5:
                    if (_pos + 4 > _data.Length)
                    {
                        throw new InvalidDataException("truncated fixed32");
                    }

                    _pos += 4;
                    break;
                default:
                    throw new InvalidDataException($"unsupported protobuf wire type {wire}");
            }
        }
    }
}
