/// The page's style sheet and scripts (inline: the report is one file that opens offline).
///
/// The script reads the embedded JSON (`ReportData`) and draws every chart as SVG: one
/// `<figure class="chart" data-chart=ID>` per chart, one `<path class="series"
/// data-series=NAME data-points=N>` per series (N points, the path's M/L commands), heat
/// maps as `<canvas class="heat" data-cells=N>` (N non-empty cells drawn). When it is done
/// it sets `data-rendered="ok"` and `data-charts` on `<body>`; an uncaught error anywhere
/// sets `data-script-errors` on `<html>` (the head's trap runs before everything else).
enum ReportAssets {
    static let errorTrap = """
    window.reportErrors=[];window.addEventListener('error',function(e){window.reportErrors.push(String(e.message||e));\
    document.documentElement.setAttribute('data-script-errors',String(window.reportErrors.length));\
    document.documentElement.setAttribute('data-script-error',String(e.message||e));});
    """

    static let css = """
    body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1000px;padding:0 16px 40px;color:#222;background:#fff}
    h1{font-size:21px;margin:18px 0 2px}h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
    .sub{color:#666;margin:0 0 10px;font-size:12px}.note{background:#fff8e1;border-left:3px solid #f0b400;padding:5px 9px;margin:6px 0}
    table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}th,td{padding:2px 10px 2px 4px;text-align:left;vertical-align:top;border-bottom:1px solid #eee}
    th{font-weight:600;color:#444;white-space:nowrap}td pre{margin:0;white-space:pre-wrap;font-size:12px}
    .tag.A{color:#08519c}.tag.B{color:#a63603}.tag{white-space:nowrap}table.inputs td:nth-child(2){white-space:nowrap}
    figure.chart{margin:10px 0 18px;position:relative}figure.chart figcaption{font-weight:600;margin-bottom:2px}
    figure.chart .hint{font-weight:400;color:#777;font-size:12px;margin-left:6px}
    svg.plot{display:block;width:100%;height:auto;font-size:11px;background:#fff}
    svg.plot .grid line{stroke:#eee}svg.plot .axis text{fill:#555}svg.plot .axis line,svg.plot .axis path{stroke:#999}
    svg.plot path.series{fill:none;stroke-width:1.5;stroke-linejoin:round}svg.plot path.area{stroke:none}
    .legend{font-size:12px;color:#333;display:flex;flex-wrap:wrap;gap:3px 14px;margin-top:2px}
    .legend i{display:inline-block;width:18px;height:0;border-top:2px solid;vertical-align:middle;margin-right:4px}
    .legend i.box{height:10px;border:none}
    .tip{position:absolute;pointer-events:none;background:rgba(255,255,255,.95);border:1px solid #bbb;padding:3px 6px;font-size:11px;white-space:nowrap;display:none;z-index:2}
    .heatgrid{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:12px}
    .heatbox{font-size:12px}.heatbox canvas{width:100%;height:auto;image-rendering:pixelated;border:1px solid #ccc;display:block}
    .heatbox .axis{display:flex;justify-content:space-between;color:#666}
    details{margin:8px 0}summary{cursor:pointer;color:#444}
    """

    // The script is ES5-style (no modules, no external anything) so it runs in any browser.
    static let script = #"""
    (function(){
    'use strict';
    var D=JSON.parse(document.getElementById('report-data').textContent);
    var NS='http://www.w3.org/2000/svg';
    var main=document.getElementById('charts');
    var OPC={read:'#1f77b4',write:'#d62728',trim:'#2ca02c',sync:'#9467bd',datasync:'#8c564b',sync_file_range:'#e377c2',syncfs:'#7f7f7f',fallocate:'#bcbd22',truncate:'#17becf'};
    var PCT={A:{p50:'#08306b',p99:'#2171b5',max:'#6baed6'},B:{p50:'#7f2704',p99:'#d94801',max:'#fd8d3c'}};
    var PDASH={p50:'',p99:'5 3',max:'1 3',mean:'',clat:'',orig:'5 3'};
    var SIZEC=['#9c755f','#bab0ac','#ff9da7','#4e79a7','#f28e2b','#e15759','#76b7b2','#59a14f','#edc948','#b07aa1','#1f77b4','#ff7f0e','#2ca02c','#d62728','#9467bd','#555555'];
    var charts=0;
    function dashOf(inp){return inp.short==='B'?'6 3':'';}
    function svg(tag,a,p){var e=document.createElementNS(NS,tag);for(var k in a)e.setAttribute(k,a[k]);if(p)p.appendChild(e);return e;}
    function html(tag,cls,p,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!=null)e.textContent=text;if(p)p.appendChild(e);return e;}
    function p3(v){return v>=100?v.toFixed(0):v>=10?v.toFixed(1):v.toFixed(2);}
    function fNs(v){if(v<1e3)return Math.round(v)+' ns';if(v<1e6)return p3(v/1e3)+' µs';if(v<1e9)return p3(v/1e6)+' ms';return p3(v/1e9)+' s';}
    function fBytes(v){var u=['B','KiB','MiB','GiB','TiB','PiB'],i=0;while(v>=1024&&i<u.length-1){v/=1024;i++;}return (i?p3(v):Math.round(v))+' '+u[i];}
    function fNum(v){if(v>=1e9)return p3(v/1e9)+'G';if(v>=1e6)return p3(v/1e6)+'M';if(v>=1e4)return p3(v/1e3)+'k';return v>=100||v===0?String(Math.round(v)):p3(v);}
    function fSec(v){return v===0?'0 s':v>=100?v.toFixed(0)+' s':v>=1?p3(v)+' s':v>=1e-3?p3(v*1e3)+' ms':p3(v*1e6)+' µs';}
    function fNines(x){var p=100*(1-Math.pow(10,-x));return (Math.round(p*1000)/1000)+'%';}
    var FMT={ns:fNs,bps:function(v){return fBytes(v)+'/s';},iops:fNum,num:fNum,pct:function(v){return p3(v)+'%';},s:fSec,bytes:fBytes,nines:fNines,frac:function(v){return Math.round(v*100)+'%';},depth:function(v){return p3(v);}};
    function nice(x){var e=Math.pow(10,Math.floor(Math.log10(x))),f=x/e;return (f<=1?1:f<=2?2:f<=5?5:10)*e;}
    function linTicks(lo,hi,n){if(!(hi>lo))hi=lo+1;var st=nice((hi-lo)/n),t=[],v=Math.ceil(lo/st)*st;for(;v<=hi+st*1e-9;v+=st)t.push(v);return t;}
    function logTicks(lo,hi){var t=[],e=Math.floor(Math.log10(lo));for(;Math.pow(10,e)<=hi*1.0001;e++)if(Math.pow(10,e)>=lo*0.9999)t.push(Math.pow(10,e));if(t.length<2){t=[lo,hi];}return t;}
    function section(title){var s=html('section',null,main);html('h2',null,s,title);return s;}
    function xsOf(inp){var xs=new Array(inp.n);for(var i=0;i<inp.n;i++)xs[i]=(i+0.5)*inp.w/1e9;return xs;}

    // A line (or stacked area) chart. o: {id,title,hint,xUnit,yUnit,xLog,yLog,yMax,area,series:[{name,color,dash,xs,ys}]}
    function chart(parent,o){
      var W=920,H=o.height||250,L=68,R=30,T=10,B=34,pw=W-L-R,ph=H-T-B;
      var fig=html('figure','chart',parent);fig.setAttribute('data-chart',o.id);charts++;
      var cap=html('figcaption',null,fig,o.title);if(o.hint)html('span','hint',cap,o.hint);
      var x0=Infinity,x1=-Infinity,y0=Infinity,y1=-Infinity;
      o.series.forEach(function(s){for(var i=0;i<s.ys.length;i++){var y=s.ys[i],x=s.xs[i];if(y==null||!isFinite(y))continue;if(o.yLog&&!(y>0))continue;if(o.xLog&&!(x>0))continue;
        if(x<x0)x0=x;if(x>x1)x1=x;if(y<y0)y0=y;if(y>y1)y1=y;}});
      if(!isFinite(x0)){html('p','note',fig,'nothing to draw');return fig;}
      if(o.xFrom!=null&&!o.xLog)x0=Math.min(x0,o.xFrom);if(o.xTo!=null)x1=Math.max(x1,o.xTo);
      if(o.yLog){y0=Math.pow(10,Math.floor(Math.log10(y0)));y1=Math.pow(10,Math.ceil(Math.log10(y1)+1e-9));if(y1<=y0)y1=y0*10;}
      else{y0=0;y1=o.yMax!=null?o.yMax:(y1>0?y1*1.05:1);}
      if(o.xLog){x0=Math.pow(10,Math.floor(Math.log10(x0)));x1=Math.pow(10,Math.ceil(Math.log10(x1)+1e-9));if(x1<=x0)x1=x0*10;}
      if(x1<=x0)x1=x0+1;
      function sx(x){return L+(o.xLog?(Math.log10(x)-Math.log10(x0))/(Math.log10(x1)-Math.log10(x0)):(x-x0)/(x1-x0))*pw;}
      function sy(y){return T+ph-(o.yLog?(Math.log10(y)-Math.log10(y0))/(Math.log10(y1)-Math.log10(y0)):(y-y0)/(y1-y0))*ph;}
      var g=svg('svg',{'class':'plot',viewBox:'0 0 '+W+' '+H,preserveAspectRatio:'xMidYMid meet'},fig);
      var grid=svg('g',{'class':'grid'},g),ax=svg('g',{'class':'axis'},g);
      var yt=o.yLog?logTicks(y0,y1):linTicks(y0,y1,5),xt=o.xTicks||(o.xLog?logTicks(x0,x1):linTicks(x0,x1,8));
      var yf=FMT[o.yUnit]||fNum,xf=FMT[o.xUnit]||fNum;
      yt.forEach(function(v){var y=sy(v);if(y<T-0.5||y>T+ph+0.5)return;svg('line',{x1:L,x2:L+pw,y1:y,y2:y},grid);var t=svg('text',{x:L-5,y:y+4,'text-anchor':'end'},ax);t.textContent=yf(v);});
      xt.forEach(function(v){var x=sx(v);if(x<L-0.5||x>L+pw+0.5)return;svg('line',{x1:x,x2:x,y1:T,y2:T+ph},grid);var t=svg('text',{x:x,y:T+ph+15,'text-anchor':'middle'},ax);t.textContent=xf(v);});
      svg('path',{d:'M'+L+' '+T+'V'+(T+ph)+'H'+(L+pw),fill:'none'},ax);
      if(o.xLabel){var xl=svg('text',{x:L+pw,y:H-3,'text-anchor':'end'},ax);xl.textContent=o.xLabel;}
      var legend=html('div','legend',fig);
      var lower=null;
      o.series.forEach(function(s){
        var d=[],n=0,pen=false,pts=[];
        for(var i=0;i<s.ys.length;i++){var y=s.ys[i],x=s.xs[i];
          if(y==null||!isFinite(y)||(o.yLog&&!(y>0))||(o.xLog&&!(x>0))){pen=false;continue;}
          var X=sx(x).toFixed(1),Y=sy(y).toFixed(1);d.push((pen?'L':'M')+X+' '+Y);pen=true;n++;pts.push([X,Y]);}
        var attrs={'class':o.area?'area':'series','data-series':s.name,'data-points':String(n)};
        if(o.area){
          var base=lower||pts.map(function(p){return [p[0],sy(0).toFixed(1)];});
          var a='M'+pts.map(function(p){return p[0]+' '+p[1];}).join('L');
          a+='L'+base.slice().reverse().map(function(p){return p[0]+' '+p[1];}).join('L')+'Z';
          attrs.d=pts.length?a:'';attrs.fill=s.color;lower=pts;
        }else{attrs.d=d.join('');attrs.stroke=s.color;if(s.dash)attrs['stroke-dasharray']=s.dash;if(s.width)attrs['stroke-width']=s.width;else if(s.dash&&s.dash.charAt(0)==='1')attrs['stroke-width']='2';}
        svg('path',attrs,g);
        var li=html('span',null,legend);var sw=html('i',o.area?'box':null,li);
        if(o.area)sw.style.background=s.color;else{sw.style.borderColor=s.color;if(s.dash)sw.style.borderTopStyle=s.dash.charAt(0)==='1'?'dotted':'dashed';}
        li.appendChild(document.createTextNode(s.name));
      });
      // Hover: the values of every series at the nearest point.
      var tip=html('div','tip',fig),vline=svg('line',{y1:T,y2:T+ph,stroke:'#888','stroke-dasharray':'2 2',visibility:'hidden'},g);
      var hit=svg('rect',{x:L,y:T,width:pw,height:ph,fill:'transparent'},g);
      hit.addEventListener('mousemove',function(ev){
        var r=g.getBoundingClientRect(),px=(ev.clientX-r.left)*W/r.width;
        var xv=o.xLog?Math.pow(10,Math.log10(x0)+(px-L)/pw*(Math.log10(x1)-Math.log10(x0))):x0+(px-L)/pw*(x1-x0);
        var lines=[],best=null;
        o.series.forEach(function(s){var lo=0,hi=s.xs.length-1;if(hi<0)return;while(lo<hi){var m=(lo+hi)>>1;if(s.xs[m]<xv)lo=m+1;else hi=m;}
          if(lo>0&&Math.abs(s.xs[lo-1]-xv)<Math.abs(s.xs[lo]-xv))lo--;var y=s.ys[lo];if(best==null)best=s.xs[lo];
          lines.push(s.name+': '+(y==null?'–':(o.area?(y*100).toFixed(1)+'%':yf(y))));});
        if(best==null)return;
        vline.setAttribute('x1',sx(best));vline.setAttribute('x2',sx(best));vline.setAttribute('visibility','visible');
        tip.textContent='';html('b',null,tip,xf(best));lines.forEach(function(l){html('div',null,tip,l);});
        tip.style.display='block';var fx=(ev.clientX-fig.getBoundingClientRect().left);tip.style.left=(fx>r.width*0.6?fx-tip.offsetWidth-12:fx+12)+'px';tip.style.top='24px';});
      hit.addEventListener('mouseleave',function(){tip.style.display='none';vline.setAttribute('visibility','hidden');});
      return fig;
    }

    var inputs=D.inputs||[];
    function opsOf(inp,pred){return inp.ops.filter(pred||function(){return true;});}
    function allOps(pred){var seen={},out=[];inputs.forEach(function(inp){opsOf(inp,pred).forEach(function(o){if(!seen[o.op]){seen[o.op]=1;out.push(o.op);}});});return out;}
    function find(inp,op){for(var i=0;i<inp.ops.length;i++)if(inp.ops[i].op===op)return inp.ops[i];return null;}
    var tmax=0;inputs.forEach(function(inp){tmax=Math.max(tmax,inp.n*inp.w/1e9);});

    if(inputs.length){
      var s=section('Rate over time');
      var ser=[];
      inputs.forEach(function(inp){var xs=xsOf(inp),sec=inp.w/1e9;inp.ops.forEach(function(o){
        ser.push({name:inp.short+' '+o.op,color:OPC[o.op]||'#555',dash:dashOf(inp),xs:xs,ys:o.ios.map(function(v){return v/sec;})});});});
      chart(s,{id:'iops',title:'I/Os per second',hint:'per op, per interval; B dashed',xUnit:'s',yUnit:'iops',series:ser,xFrom:0,xTo:tmax});
      ser=[];
      inputs.forEach(function(inp){var xs=xsOf(inp),sec=inp.w/1e9;inp.ops.forEach(function(o){if(!o.bytes)return;
        ser.push({name:inp.short+' '+o.op,color:OPC[o.op]||'#555',dash:dashOf(inp),xs:xs,ys:o.bytes.map(function(v){return v/sec;})});});});
      if(ser.length)chart(s,{id:'bandwidth',title:'Bandwidth',hint:'bytes per second of the data ops',xUnit:'s',yUnit:'bps',series:ser,xFrom:0,xTo:tmax});
      ser=[];
      inputs.forEach(function(inp){var xs=xsOf(inp),data=opsOf(inp,function(o){return !!o.bytes;});if(data.length<1)return;
        var tot=new Array(inp.n);for(var i=0;i<inp.n;i++){tot[i]=0;data.forEach(function(o){tot[i]+=o.ios[i];});}
        data.forEach(function(o){ser.push({name:inp.short+' '+o.op,color:OPC[o.op]||'#555',dash:dashOf(inp),xs:xs,ys:o.ios.map(function(v,i){return tot[i]?100*v/tot[i]:null;})});});});
      if(ser.length)chart(s,{id:'mix',title:'Read/write mix',hint:'share of the data I/Os in each interval',xUnit:'s',yUnit:'pct',yMax:100,series:ser,xFrom:0,xTo:tmax,height:200});
    }

    var latOps=allOps(function(o){return !!o.lat;});
    if(latOps.length){
      var s2=section('Latency');
      latOps.forEach(function(op){var ser=[];
        inputs.forEach(function(inp){var o=find(inp,op);if(!o||!o.lat)return;var xs=xsOf(inp);
          ['p50','p99','max'].forEach(function(k){ser.push({name:inp.short+' '+k,color:PCT[inp.short][k],dash:PDASH[k],xs:xs,ys:o.lat[k]});});});
        chart(s2,{id:'latency-'+op,title:op+' latency over time',hint:'p50, p99 and max of the I/Os issued in each interval (log scale)',xUnit:'s',yUnit:'ns',yLog:true,series:ser,xFrom:0,xTo:tmax});});
      var hser=[];
      inputs.forEach(function(inp){inp.lathist.forEach(function(h){var tot=0;h.h.n.forEach(function(v){tot+=v;});
        hser.push({name:inp.short+' '+h.op,color:OPC[h.op]||'#555',dash:dashOf(inp),xs:h.h.v,ys:h.h.n.map(function(v){return 100*v/tot;})});});});
      if(hser.length)chart(s2,{id:'latency-histogram',title:'Latency distribution',hint:'share of I/Os per 1/8-octave bucket',xUnit:'ns',yUnit:'pct',xLog:true,series:hser});
    }

    var withDepth=inputs.filter(function(inp){return !!inp.depth;});
    if(withDepth.length){
      var s3=section('Queue depth'),ser3=[];
      withDepth.forEach(function(inp){var xs=xsOf(inp);
        ser3.push({name:inp.short+' mean',color:PCT[inp.short].p50,dash:'',xs:xs,ys:inp.depth.mean});
        ser3.push({name:inp.short+' max',color:PCT[inp.short].max,dash:'1 3',xs:xs,ys:inp.depth.max});});
      chart(s3,{id:'depth',title:'In-flight I/Os at issue',hint:'recorded depth: mean and max per interval',xUnit:'s',yUnit:'depth',series:ser3,xFrom:0,xTo:tmax});
    }

    var late=inputs.filter(function(inp){return !!inp.lateness;});
    if(late.length){
      var s4=section('Replay lateness'),ser4=[];
      late.forEach(function(inp){var xs=xsOf(inp);['p50','p99','max'].forEach(function(k){ser4.push({name:k,color:PCT.B[k],dash:PDASH[k],xs:xs,ys:inp.lateness[k]});});});
      chart(s4,{id:'lateness',title:'Issue lateness over time',hint:"B's issue time minus A's schedule, per interval (log scale)",xUnit:'s',yUnit:'ns',yLog:true,series:ser4,xFrom:0,xTo:tmax});
      if(D.latehist){var tot=0,acc=0;D.latehist.n.forEach(function(v){tot+=v;});
        // Cumulative: the share of paired I/Os at most this late (lateness 0 is drawn at 1 ns).
        chart(s4,{id:'lateness-cdf',title:'Lateness distribution',hint:'share of paired I/Os at most this late (cumulative, 1/8-octave buckets)',xUnit:'ns',yUnit:'pct',xLog:true,yMax:100,
          series:[{name:'paired I/Os',color:PCT.B.p50,xs:D.latehist.v.map(function(v){return Math.max(1,v);}),ys:D.latehist.n.map(function(v){acc+=v;return 100*acc/tot;})}]});}
    }

    if(D.percentiles&&D.percentiles.length){
      var s5=section('Latency percentiles (JSON report)'),ser5=[];
      var nines=function(p){return -Math.log10(1-Math.min(p,99.9999)/100);};
      D.percentiles.forEach(function(c){var xs=c.p.map(nines);
        ser5.push({name:c.name+' clat',color:OPC[c.op]||'#555',dash:'',xs:xs,ys:c.clat});
        if(c.orig){ser5.push({name:c.name+' original',color:OPC[c.op]||'#555',dash:'5 3',xs:xs,ys:c.orig});
          ser5.push({name:c.name+' replayed (issue to completion)',color:OPC[c.op]||'#555',dash:'1 3',xs:xs,ys:c.lat});}});
      chart(s5,{id:'percentiles',title:'Completion latency by percentile',hint:"fio's percentile list",xUnit:'nines',yUnit:'ns',yLog:true,
        xTicks:[nines(50),nines(90),nines(99),nines(99.9),nines(99.99)],series:ser5});
    }

    var sized=inputs.filter(function(inp){return inp.sizes.length>0;});
    if(sized.length){
      var s6=section('Block sizes over time');
      sized.forEach(function(inp){var xs=xsOf(inp),tot=new Array(inp.n),cum=new Array(inp.n),ser=[];
        for(var i=0;i<inp.n;i++){tot[i]=0;cum[i]=0;inp.sizes.forEach(function(c){tot[i]+=c.counts[i];});}
        inp.sizes.forEach(function(c){ser.push({name:c.label,color:SIZEC[c.k],xs:xs,
          ys:c.counts.map(function(v,i){if(!tot[i])return null;cum[i]+=v/tot[i];return cum[i];})});});
        chart(s6,{id:'sizes-'+inp.short,title:inp.label+': block sizes',hint:'share of data I/Os per size class (lengths up to the size shown)',xUnit:'s',yUnit:'frac',yMax:1,area:true,
          series:ser,xFrom:0,xTo:tmax,height:180});});
    }

    var heated=inputs.filter(function(inp){return inp.heat.length>0;});
    if(heated.length){
      var s7=section('Where the I/O lands');
      html('p','sub',s7,'Offset (down) against time (across) per file, as seekwatcher draws it: blue reads, red writes, darker = more I/Os (log scale).');
      var grid=html('div','heatgrid',s7);
      heated.forEach(function(inp){inp.heat.forEach(function(m){
        var box=html('div','heatbox',grid);html('div',null,box,inp.label+': '+m.file+' — '+m.ios+' I/Os');
        var cv=html('canvas','heat',box);cv.width=m.cols;cv.height=m.rows;cv.setAttribute('data-file',m.file);cv.setAttribute('data-input',inp.short);
        var cx=cv.getContext('2d'),img=cx.createImageData(m.cols,m.rows),A='ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',idx={};
        for(var q=0;q<64;q++)idx[A.charAt(q)]=q;
        var cells=0,pos=0,skip=0,str=m.cells;
        for(var c=0;c<m.cols;c++)for(var r=0;r<m.rows;r++){var p=4*(r*m.cols+c),lv=0,sh=0;
          if(skip>0)skip--;
          else if(str.charAt(pos)==='~'){skip=64*idx[str.charAt(pos+1)]+idx[str.charAt(pos+2)]-1;pos+=3;}
          else{lv=idx[str.charAt(pos)];sh=idx[str.charAt(pos+1)]/63;pos+=2;}
          if(!lv){img.data[p]=255;img.data[p+1]=255;img.data[p+2]=255;img.data[p+3]=255;continue;}
          cells++;var t=0.3+0.7*lv/63;
          img.data[p]=Math.round(255-t*(255-(214*(1-sh)+31*sh)));img.data[p+1]=Math.round(255-t*(255-(39*(1-sh)+119*sh)));img.data[p+2]=Math.round(255-t*(255-(40*(1-sh)+180*sh)));img.data[p+3]=255;}
        cx.putImageData(img,0,0);cv.setAttribute('data-cells',String(cells));
        var axis=html('div','axis',box);html('span',null,axis,'0 s, offset 0');html('span',null,axis,'offset '+fBytes(m.rows*m.rowBytes)+' (down), '+fSec(m.cols*m.colNs/1e9)+' (across)');
        charts++;});
        if(inp.heatMore)html('p','sub',s7,inp.label+': '+inp.heatMore);});
    }
    document.body.setAttribute('data-charts',String(charts));
    document.body.setAttribute('data-rendered','ok');
    })();
    """#
}
