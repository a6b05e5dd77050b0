import { cleanXmp } from './src/core/xmp.ts';
const packet = `<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 5.6">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <!-- a comment -->
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:xmpGImg="http://ns.adobe.com/xap/1.0/g/img/"
    xmlns:tiff="http://ns.adobe.com/tiff/1.0/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    xmlns:GImage="http://ns.google.com/photos/1.0/image/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmp:Rating="5" tiff:Orientation="6" crs:Exposure2012="+1.00" dc:format="image/jpeg" photoshop:City="Lisbon &amp; around"
    GImage:Data="SECRETIMAGE" xmpMM:DocumentID="xmp.did:1234">
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">A day at the beach</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>Ana Photographer</rdf:li></rdf:Seq></dc:creator>
   <dc:rights><rdf:Alt><rdf:li xml:lang="x-default">© 2026 Ana</rdf:li></rdf:Alt></dc:rights>
   <dc:subject><rdf:Bag><rdf:li>beach</rdf:li><rdf:li>sea</rdf:li></rdf:Bag></dc:subject>
   <xmp:Thumbnails><rdf:Alt><rdf:li rdf:parseType="Resource"><xmpGImg:image>SECRETTHUMB</xmpGImg:image></rdf:li></rdf:Alt></xmp:Thumbnails>
   <Iptc4xmpCore:CreatorContactInfo rdf:parseType="Resource"><Iptc4xmpCore:CiEmailWork>ana@example.org</Iptc4xmpCore:CiEmailWork></Iptc4xmpCore:CreatorContactInfo>
   <Iptc4xmpExt:PersonInImage><rdf:Bag><rdf:li>SECRETBOB</rdf:li></rdf:Bag></Iptc4xmpExt:PersonInImage>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/">
   <mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:RegionList><rdf:Bag><rdf:li mwg-rs:Name="SECRETBOB"/></rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>`;
console.log(cleanXmp(packet));
console.log(cleanXmp('<x:xmpmeta><rdf:RDF'));
