*********************************************************
* Build and publish routine for the Orders server
*********************************************************
LPARAMETER llPublish
LOCAL lcHtml

*** Settings used below: adjust for your machines
EXE_FILE          =      "Orders"
COM_PROGID        =      "Orders.OrdersServer"

*** Publish links - point these at the production site
HTTP_UPLOADURL    =      "https://apps.example.com/Orders/UploadExe.wc"
HTTP_UPDATEURL    =      "https://apps.example.com/Orders/UpdateExe.wc"

*** with the ISAPI wc.dll use this instead
* HTTP_UPLOADURL  =      "https://apps.example.com/Orders/wc.wc?wwmaint~FileUpload"

*** Suggested login for the prompt
WEB_USERNAME      =      StrExtract(sys(0),"# ","")

BUILD EXE (EXE_FILE) FROM (EXE_FILE) RECOMPILE
IF llPublish
   loHttp = CREATEOBJECT("wwHttp")
   loHttp.nHttpPostMode = 2
   loHttp.AddPostKey("File", FULLPATH(EXE_FILE + ".exe"), .T.)
   lcHtml = loHttp.Post(HTTP_UPLOADURL)
   IF ATC("File has been uploaded", lcHtml) = 0
      MESSAGEBOX("Upload failed: " + ;
                 loHttp.cErrorMsg)
      RETURN
   ENDIF
ENDIF
